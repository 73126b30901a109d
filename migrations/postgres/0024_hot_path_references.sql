-- The delivery log's hot rows without foreign-key checks (PostgreSQL only;
-- SQLite keeps its constraints, see below).
--
-- PostgreSQL checks a foreign key with a query per row written, and each
-- check locks the row it finds (FOR KEY SHARE): nine such queries per
-- WhatsApp delivery (its row and its in-app twin refer to their event and
-- user, the inbox item likewise, the outcome to its provider account, the
-- try to its delivery and account), every concurrent transaction locking
-- the same account and user rows. Profiled under load (issue #26) they were
-- a third of the database's CPU per delivery.
--
-- What the constraints gave is kept by the code that writes these rows:
-- a delivery, its inbox item and its in-app row are written in the
-- transaction that writes their event, for users and accounts read in it;
-- tries are written fenced on their delivery's attempt; users and provider
-- accounts are never deleted (they are deactivated), so the SET NULL
-- actions never ran; retention (storage::retention) deletes a pruned
-- delivery's tries and a pruned event's inbox items itself, in the same
-- transaction, as the cascades did.
--
-- SQLite checks a key in-process with one index probe and the cascades
-- still run there (harmless beside the explicit deletes); dropping a
-- constraint there means rebuilding the table, which is not worth it.
ALTER TABLE deliveries
    DROP CONSTRAINT IF EXISTS deliveries_event_id_fkey,
    DROP CONSTRAINT IF EXISTS deliveries_user_id_fkey,
    DROP CONSTRAINT IF EXISTS deliveries_provider_account_id_fkey;
ALTER TABLE notifications
    DROP CONSTRAINT IF EXISTS notifications_event_id_fkey,
    DROP CONSTRAINT IF EXISTS notifications_user_id_fkey;
ALTER TABLE delivery_tries
    DROP CONSTRAINT IF EXISTS delivery_tries_delivery_id_fkey,
    DROP CONSTRAINT IF EXISTS delivery_tries_account_id_fkey;
