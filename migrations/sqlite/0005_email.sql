-- Email: the subject line goes with the message it heads (written before any
-- send, like the message).
ALTER TABLE deliveries ADD COLUMN subject TEXT;
