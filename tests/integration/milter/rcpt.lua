-- rcpt.lua - one SMTP session against vrcpt-milter, for miltertest(8).
--
--   miltertest -vv -D SOCK=unix:/path -D RCPTS='<a@b>|<c@d>' -s rcpt.lua
--
-- Globals (miltertest -D):
--   SOCK     the milter socket, libmilter form (unix:/path, inet:port@host)
--   RCPTS    RCPT TO arguments, "|"-separated, each as the client sent it
--   FROM     MAIL FROM argument (default <a@example.net>)
--   NEGOTIATE  "1": check what vrcpt-milter negotiated and print
--            "negotiation ok" (an error otherwise)
-- Prints one line per recipient: "RCPT <arg> <reply>", where reply is
-- continue, replycode (a reply with its own text: smfi_setreply), reject,
-- tempfail, accept or other:<char>. miltertest cannot show the reply
-- text; with -vv it logs "cmd y, len N" just before (N = bytes of
-- "rcode xcode text" + NUL), which milter.sh checks.

local function fail(msg)
	error("rcpt.lua: " .. msg)
end

if SOCK == nil or RCPTS == nil then
	fail("set SOCK and RCPTS with -D")
end

local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then
	fail("cannot connect to " .. SOCK)
end

if NEGOTIATE == "1" then
	if mt.negotiate(conn, nil, nil, nil) ~= nil then
		fail("negotiation failed")
	end
	-- wanted: no headers, body, EOH, DATA, unknown commands ...
	for _, o in ipairs({ "SMFIP_NOHDRS", "SMFIP_NOBODY", "SMFIP_NOEOH",
	    "SMFIP_NODATA", "SMFIP_NOUNKNOWN" }) do
		if not mt.test_option(conn, _G[o]) then
			fail(o .. " not requested")
		end
	end
	-- ... but connect, HELO, MAIL, RCPT, and no rejected recipients
	for _, o in ipairs({ "SMFIP_NOCONNECT", "SMFIP_NOHELO",
	    "SMFIP_NOMAIL", "SMFIP_NORCPT", "SMFIP_RCPT_REJ" }) do
		if mt.test_option(conn, _G[o]) then
			fail(o .. " requested")
		end
	end
	if not mt.test_action(conn, SMFIF_SETSYMLIST) then
		fail("SMFIF_SETSYMLIST not requested")
	end
	for _, a in ipairs({ "SMFIF_ADDHDRS", "SMFIF_CHGBODY", "SMFIF_ADDRCPT",
	    "SMFIF_DELRCPT", "SMFIF_CHGHDRS", "SMFIF_QUARANTINE" }) do
		if _G[a] ~= nil and mt.test_action(conn, _G[a]) then
			fail(a .. " requested: the milter never edits mail")
		end
	end
	print("negotiation ok")
end

mt.macro(conn, SMFIC_CONNECT, "{client_addr}", "192.0.2.9",
    "{client_name}", "mx.example.net")
if mt.conninfo(conn, "mx.example.net", "192.0.2.9") ~= nil then
	fail("conninfo")
end
if mt.helo(conn, "mx.example.net") ~= nil then
	fail("helo")
end
if mt.mailfrom(conn, FROM or "<a@example.net>") ~= nil then
	fail("mailfrom")
end

local names = {
	[SMFIR_CONTINUE] = "continue",
	[SMFIR_REPLYCODE] = "replycode",
	[SMFIR_REJECT] = "reject",
	[SMFIR_TEMPFAIL] = "tempfail",
	[SMFIR_ACCEPT] = "accept",
}
for r in string.gmatch(RCPTS, "[^|]+") do
	mt.macro(conn, SMFIC_RCPT, "i", "", "{rcpt_addr}", r)
	if mt.rcptto(conn, r) ~= nil then
		fail("rcptto " .. r)
	end
	local rep = mt.getreply(conn)
	print("RCPT " .. r .. " " ..
	    (names[rep] or ("other:" .. string.char(rep))))
end
mt.disconnect(conn)
