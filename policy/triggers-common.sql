-- triggers-common.sql - the notification helpers that
-- triggers-ispmail.sql and triggers-postfixadmin.sql share; both include
-- this file (psql \ir), so load those, not this one.
--
-- Messages on the channel vrcpt_invalidate: 'a:KEY' (one lookup key),
-- 'd:DOMAIN' (every key of a domain), 'all'. A key too long for a
-- notification payload becomes 'all'.

-- vrcpt_notify_key(KEY) - 'a:KEY' (and 'a:lower(KEY)' when different)
CREATE OR REPLACE FUNCTION vrcpt_notify_key(k text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF k IS NULL OR k = '' THEN
		RETURN;
	END IF;
	IF octet_length(k) > 7000 THEN
		PERFORM pg_notify('vrcpt_invalidate', 'all');
		RETURN;
	END IF;
	PERFORM pg_notify('vrcpt_invalidate', 'a:' || k);
	IF lower(k) <> k THEN
		PERFORM pg_notify('vrcpt_invalidate', 'a:' || lower(k));
	END IF;
END
$$;

-- vrcpt_notify_domain(DOMAIN) - 'd:DOMAIN' (and lower-case)
CREATE OR REPLACE FUNCTION vrcpt_notify_domain(d text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF d IS NULL OR d = '' THEN
		RETURN;
	END IF;
	IF octet_length(d) > 7000 THEN
		PERFORM pg_notify('vrcpt_invalidate', 'all');
		RETURN;
	END IF;
	PERFORM pg_notify('vrcpt_invalidate', 'd:' || d);
	IF lower(d) <> d THEN
		PERFORM pg_notify('vrcpt_invalidate', 'd:' || lower(d));
	END IF;
END
$$;

-- vrcpt_notify_all() - TRUNCATE: everything
CREATE OR REPLACE FUNCTION vrcpt_notify_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('vrcpt_invalidate', 'all');
	RETURN NULL;
END
$$;
