"""The console's words in Vietnamese (the default) and English; a page asks `t(key)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

_TEXT: dict[str, tuple[str, str]] = {
    "console": ("Bảng điều hành Một cửa", "One-stop console"),
    "sign_in": ("Đăng nhập", "Sign in"),
    "sign_out": ("Đăng xuất", "Sign out"),
    "signed_in_as": ("Đang đăng nhập", "Signed in as"),
    "roles": ("Vai trò", "Roles"),
    "queue": ("Hồ sơ chờ phân loại", "Manual queue"),
    "queue_intro": ("Hồ sơ không quy tắc nào định tuyến được; chọn cơ quan xử lý.",
                    "Records no rule could place; choose the department."),
    "queue_empty": ("Không có hồ sơ nào đang chờ.", "No record is waiting."),
    "record": ("Hồ sơ", "Record"),
    "procedure": ("Thủ tục", "Procedure"),
    "unit": ("Địa bàn", "Unit"),
    "waiting_since": ("Chờ từ", "Waiting since"),
    "reason": ("Lý do", "Reason"),
    "returned_by": ("Đã bị trả lại bởi", "Returned by"),
    "suggested": ("Gợi ý", "Suggested"),
    "department": ("Cơ quan", "Department"),
    "other_departments": ("Cơ quan khác", "Other departments"),
    "note": ("Lý do chọn (không ghi thông tin cá nhân)", "Why (no personal data)"),
    "route": ("Chuyển xử lý", "Route"),
    "routed_to": ("Đã chuyển hồ sơ {code} đến {department}.", "Record {code} routed to {department}."),
    "refused": ("Không được phép", "Not allowed"),
    "refused_detail": ("Vai trò của bạn không được dùng trang này.",
                       "Your role may not use this page."),
    "unavailable": ("Dịch vụ tạm thời không trả lời; thử lại sau.",
                    "A service did not answer; try again shortly."),
    "read_only": ("Chỉ cán bộ một cửa mới chuyển được hồ sơ.",
                  "Only one-stop officers can route records."),
    "pages_for_you": ("Trang dành cho bạn", "Your pages"),
    "none_for_you": ("Chưa có trang nào cho vai trò của bạn.", "No page yet for your roles."),
    "language": ("English", "Tiếng Việt"),
    "late": ("Trễ hạn và sắp trễ", "Late and at risk"),
    "escalations": ("Cảnh báo đã chuyển cấp trên", "Open escalations"),
    "no_escalations": ("Không có cảnh báo nào đang mở.", "No open escalation."),
    "level": ("Cấp", "Level"),
    "kind_late": ("Trễ hạn", "Late"),
    "kind_misrouted": ("Chưa có cơ quan tiếp nhận", "No department took it"),
    "raised_at": ("Lúc", "Raised"),
    "acknowledge": ("Xác nhận đã nắm", "Acknowledge"),
    "ack_note": ("Đang xử lý thế nào (không ghi thông tin cá nhân)",
                 "What is being done (no personal data)"),
    "acknowledged_by": ("Đã xác nhận: {by}, {at}", "Acknowledged by {by}, {at}"),
    "acknowledged": ("Đã xác nhận cảnh báo của hồ sơ {code}.", "Escalation of record {code} acknowledged."),
    "at_risk": ("Hồ sơ trễ hạn và sắp trễ", "Records late and nearly late"),
    "no_at_risk": ("Không có hồ sơ nào trễ hoặc sắp trễ.", "No record is late or nearly late."),
    "in_progress_late": ("Trễ hạn", "Late"),
    "in_progress_nearly_late": ("Sắp trễ", "Nearly late"),
    "due": ("Hạn", "Due"),
    "late_days": ("Trễ (ngày làm việc)", "Late (working days)"),
    "index": ("Chỉ số 766 theo cơ quan", "Decision 766 figures by department"),
    "done_early": ("Xong trước hạn", "Done early"),
    "done_on_time": ("Xong đúng hạn", "Done on time"),
    "done_late": ("Xong quá hạn", "Done late"),
    "in_progress_not_due": ("Đang xử lý, chưa đến hạn", "In progress, not due"),
    "on_time_rate": ("Tỷ lệ đúng hạn", "On-time rate"),
    "download_csv": ("Tải CSV", "Download CSV"),
    "timeline": ("Quá trình hồ sơ", "Record timeline"),
    "record_code": ("Mã hồ sơ", "Record code"),
    "find": ("Tra cứu", "Look up"),
    "no_such_record": ("Không dịch vụ nào biết hồ sơ {code}.", "No service knows record {code}."),
    "status": ("Trạng thái", "Status"),
    "received": ("Tiếp nhận", "Received"),
    "appointment": ("Hẹn trả", "Appointment"),
    "deadline": ("Thời hạn", "Deadline"),
    "trace": ("Vết xử lý", "Trace"),
    "what_happened": ("Diễn biến", "What happened"),
    "notifications": ("Thông báo đã gửi", "Notifications"),
    "no_notifications": ("Chưa có thông báo nào.", "No notification yet."),
    "about": ("Về", "About"),
    "to_whom": ("Người nhận", "To"),
    "channel": ("Kênh", "Channel"),
    "attempts": ("Số lần gửi", "Attempts"),
    "dead_letters": ("Thông điệp lỗi", "Dead letters"),
    "dead_letters_intro": ("Thông điệp các dịch vụ không xử lý được: xem lý do, xử lý lại sau khi "
                           "đã sửa, hoặc bỏ qua có ghi lý do.",
                           "Messages the services could not process: read why, replay after a "
                           "fix, or discard with a reason."),
    "dl_topics": ("Theo chủ đề", "Per topic"),
    "dl_service": ("Dịch vụ", "Service"),
    "dl_topic": ("Chủ đề", "Topic"),
    "dl_waiting": ("Chờ xử lý", "Waiting"),
    "dl_replaying": ("Đang xử lý lại", "Replaying"),
    "dl_replayed": ("Đã xử lý lại", "Replayed"),
    "dl_discarded": ("Đã bỏ qua", "Discarded"),
    "dl_all_topics": ("Mọi chủ đề", "All topics"),
    "dl_none": ("Không có thông điệp lỗi nào.", "No dead letter."),
    "dl_none_here": ("Không có thông điệp nào ở đây.", "Nothing here."),
    "dl_silent": ("Không đọc được từ: {services}.", "No answer from: {services}."),
    "dl_detail": ("Chi tiết", "Detail"),
    "dl_event": ("Sự kiện", "Event"),
    "dl_consumer": ("Nơi từ chối", "Refused by"),
    "dl_failed_at": ("Lúc", "At"),
    "dl_size": ("Kích thước", "Size"),
    "dl_headers": ("Tiêu đề gốc", "Original headers"),
    "dl_history": ("Lịch sử", "History"),
    "dl_note": ("Lý do (bắt buộc khi bỏ qua; không ghi thông tin cá nhân)",
                "Why (required to discard; no personal data)"),
    "dl_replay": ("Xử lý lại", "Replay"),
    "dl_discard": ("Bỏ qua", "Discard"),
    "dl_done_replay": ("Đã yêu cầu xử lý lại {n} thông điệp.", "Replay requested for {n}."),
    "dl_done_discard": ("Đã bỏ qua {n} thông điệp.", "Discarded {n}."),
    "dl_step_dead-lettered": ("bị từ chối", "refused"),
    "dl_step_replay-requested": ("yêu cầu xử lý lại", "replay requested"),
    "dl_step_replayed": ("đã xử lý lại", "replayed"),
    "dl_step_refused-again": ("bị từ chối lần nữa", "refused again"),
    "dl_step_discarded": ("bỏ qua", "discarded"),
}


def translator(language: Language) -> Callable[..., str]:
    index = LANGUAGES.index(language)

    def t(key: str, **values: object) -> str:
        text = _TEXT[key][index]
        return text.format(**values) if values else text

    return t


def choose(cookie: str | None, accept_language: str | None) -> Language:
    """The language a person picked, else the browser's first known one, else Vietnamese."""
    tags = [cookie or ""] + [part.split(";")[0].strip().lower()[:2]
                             for part in (accept_language or "").split(",")]
    return next((language for tag in tags for language in LANGUAGES if tag == language), "vi")
