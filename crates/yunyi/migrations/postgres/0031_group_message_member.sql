-- A member's recent messages, for the posting rate limit (`groups::service::post`).
CREATE INDEX group_message_member ON group_message (member_id, created_at);
