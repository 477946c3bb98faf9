"""The project's words: keys used in code and the Vietnamese shown on screens."""

ROLES = {
    "officer": "Cán bộ phường",
    "group_head": "Tổ trưởng",
    "member": "Thành viên Tổ CNSCĐ",
    "reporter": "Cán bộ cơ quan, trường học",
    "city_admin": "Cán bộ Sở KH&CN",
}
# The roles a ward gives its own people (the city administrator belongs to no ward).
WARD_ROLES = {key: label for key, label in ROLES.items() if key != "city_admin"}
# Roles that log assists from a phone (a group head is often also a member).
FIELD_ROLES = ("member", "group_head")

# What a tenant of the city is: a ward, a commune or a special zone.
WARD_KINDS = {
    "ward": "Phường",
    "commune": "Xã",
    "special_zone": "Đặc khu",
}

UNIT_KINDS = {
    "residential": "Tổ dân phố",
    "agency": "Cơ quan, đơn vị",
    "school": "Trường học",
    "organisation": "Đoàn thể",
}
RESIDENTIAL_LABELS = ("Tổ dân phố", "Khu dân cư", "Thôn")

DEFAULT_STEPS = [
    {"key": "installed", "label": "Cài đặt"},
    {"key": "registered", "label": "Đăng ký tài khoản"},
    {"key": "tested", "label": "Thi trực tuyến"},
]
TEST_STEP = "tested"

DEFAULT_CATEGORIES = [
    {"key": "elderly", "label": "Người cao tuổi"},
    {"key": "household_business", "label": "Hộ kinh doanh"},
    {"key": "small_trader", "label": "Tiểu thương"},
    {"key": "student", "label": "Học sinh, sinh viên"},
    {"key": "official", "label": "Cán bộ, công chức"},
    {"key": "worker", "label": "Người lao động"},
    {"key": "other", "label": "Khác"},
]

GENDERS = {"female": "Nữ", "male": "Nam", "other": "Khác"}

DIFFICULTY_KINDS = {
    "no_smartphone": "Không có điện thoại thông minh",
    "no_internet": "Không có mạng",
    "otp_not_received": "Không nhận được mã OTP",
    "forgot_password": "Quên mật khẩu",
    "platform_error": "Lỗi hệ thống thi",
    "hard_to_use": "Khó thao tác, mắt kém",
    "other": "Khác",
}

DEFAULT_CONSENT = (
    "Tôi đồng ý để Tổ Công nghệ số cộng đồng ghi lại họ tên, năm sinh và số điện thoại "
    "(nếu có) của tôi, chỉ để thống kê kết quả tham gia Cuộc thi và hỗ trợ tôi khi cần. "
    "Thông tin được UBND phường quản lý, không chia sẻ cho bên khác, và sẽ được xóa sau "
    "khi kết thúc đợt. Tôi có thể yêu cầu xóa bất cứ lúc nào."
)
CONSENT_BOX = "Người dân đã đồng ý (đã đọc nội dung trên cho người dân)"
