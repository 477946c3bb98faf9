"""Every schema change has a migration: upgrading an empty database gives the models' schema."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fieldapp.extensions import db
from tests.conftest import POSTGRES_URL, make_app


@pytest.fixture
def empty_database_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.sqlite'}"
        return
    name = f"fieldapp_mig_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(POSTGRES_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_init_command_builds_the_models_schema(backend, empty_database_url, tmp_path):
    app = make_app(backend, tmp_path, DATABASE_URL=empty_database_url)
    result = app.test_cli_runner().invoke(args=["init"])
    assert result.exit_code == 0, result.output
    assert "sẵn sàng" in result.output
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []
    # The triggers that queue every change to assists for the tally (models.TALLY_TRIGGERS).
    with app.app_context(), db.engine.connect() as conn:
        if backend == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        names = set(conn.execute(sa.text(query)).scalars())
    expected = {f"assists_tally_{event}" for event in ("insert", "update", "delete")}
    assert names == expected | {"units_tally_kind"}
    # Running it again is harmless (an upgrade with nothing to do).
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    with app.app_context():
        db.engine.dispose()
