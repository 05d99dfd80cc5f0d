-- The menu a chat app shows a member by themselves (a LINE rich menu linked to them, Telegram's
-- command list for their chat): 'team' for the tambon team and administrators, NULL for the
-- default (the villager's). Kept so that a role given or taken changes it once, at the member's
-- next message, and a restart links nothing again.
ALTER TABLE members ADD COLUMN menu TEXT;
