-- triggers-common.sql - the notification helpers that
-- triggers-ispmail.sql and triggers-postfixadmin.sql share; both include
-- this file (psql \ir), so load those, not this one.
--
-- Messages on the channel vrcpt_invalidate: 'a:KEY' (one lookup key),
-- 'd:DOMAIN' (every key of a domain), 'all'. A key too long for a
-- notification payload becomes 'all'.

-- vrcpt_notify(KIND, TEXT) - 'KIND:TEXT', and 'KIND:lower(TEXT)' when
-- different; nothing for NULL or ''; 'all' when too long for a payload
CREATE OR REPLACE FUNCTION vrcpt_notify(kind text, t text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF t IS NULL OR t = '' THEN
		RETURN;
	END IF;
	IF octet_length(t) > 7000 THEN
		PERFORM pg_notify('vrcpt_invalidate', 'all');
		RETURN;
	END IF;
	PERFORM pg_notify('vrcpt_invalidate', kind || ':' || t);
	IF lower(t) <> t THEN
		PERFORM pg_notify('vrcpt_invalidate', kind || ':' || lower(t));
	END IF;
END
$$;

-- vrcpt_notify_key(KEY) - 'a:KEY': one lookup key
CREATE OR REPLACE FUNCTION vrcpt_notify_key(k text) RETURNS void
LANGUAGE sql AS $$ SELECT vrcpt_notify('a', k) $$;

-- vrcpt_notify_domain(DOMAIN) - 'd:DOMAIN': every key of a domain
CREATE OR REPLACE FUNCTION vrcpt_notify_domain(d text) RETURNS void
LANGUAGE sql AS $$ SELECT vrcpt_notify('d', d) $$;

-- vrcpt_notify_all() - TRUNCATE: everything
CREATE OR REPLACE FUNCTION vrcpt_notify_all() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('vrcpt_invalidate', 'all');
	RETURN NULL;
END
$$;
