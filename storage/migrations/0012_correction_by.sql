-- Who corrected a submission's tags, as the audit shows it: a role and pseudonym from chat
-- ("team P-7F3A"), a name from the command line. It stays when the member is forgotten
-- (member_id is then set to NULL), since it names no one.
ALTER TABLE tag_corrections ADD COLUMN corrected_by TEXT;
