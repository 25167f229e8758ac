# postfix-lib.sh -- the Postfix instance of samples/make-samples.sh and
# samples/make-audit-samples.sh (sourced, not run): packages, freeing the listen addresses,
# main.cf/master.cf, the maps, the TLS certificate, the Cyrus SASL user, start, stop, cleanup.
#
# The caller sets PC (config dir), QD (queue), DD (data), LOG (maillog_file), SRV (the
# inet_interfaces address), WORK (scratch), PF_WRITER (the script named in main.cf's first
# line), PF_SYSLOG (syslog_name), PF_MYNETWORKS, RESTART_SYSTEM_POSTFIX=0 and a fail() and
# log() function.  Between pf_write_config and pf_start the caller may append to
# "$PC/main.cf" and "$PC/master.cf" (more services, other restrictions).

pf_install_missing() {  # PACKAGE...: apt-get install -y what is not installed yet
    local need=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        log "installing: ${need[*]}"
        echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
        echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
        timeout 600 apt-get update -q
        DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q --no-install-recommends "${need[@]}"
    fi
}

pf_free_addresses() {   # SS_FILTER ADDRESS_REGEX: stop the default instance if it holds them
    local i busy=
    [ -f "$PC/main.cf" ] && timeout 60 postfix -c "$PC" stop >/dev/null 2>&1 || true
    for i in $(seq 1 20); do
        busy=$(ss -Htln "$1" | awk '{print $4}' | grep -E "^(0\.0\.0\.0|\*|\[::\]|$2):" || true)
        [ -z "$busy" ] && break
        if [ "$i" = 1 ] && [ -f /etc/postfix/main.cf ] && postfix status >/dev/null 2>&1; then
            log "stopping the default Postfix instance for the duration of the run"
            timeout 60 postfix stop; RESTART_SYSTEM_POSTFIX=1
        fi
        sleep 0.5
    done
    [ -z "$busy" ] || fail "something else listens on a port we need: $busy"
}

pf_write_config() {     # main.cf and master.cf of the sample instance
    log "setting up Postfix instance in $PC"
    rm -rf "$PC" "$QD" "$DD"
    mkdir -p "$PC/sasl" "$QD" "$DD"
    chown postfix "$DD"
    : > "$LOG"
    cat > "$PC/main.cf" <<EOF
# smtpscope sample instance, written by samples/$PF_WRITER
compatibility_level = 3.6
syslog_name = $PF_SYSLOG
queue_directory = $QD
data_directory = $DD
maillog_file = $LOG
myhostname = mx.sample.test
mydomain = sample.test
myorigin = sample.test
mydestination = sample.test, mx.sample.test
inet_interfaces = $SRV
inet_protocols = ipv4
mynetworks = $PF_MYNETWORKS
smtpd_banner = \$myhostname ESMTP Postfix (smtpscope samples)
# log the client port, so that each log line can be tied to one TCP connection
smtpd_client_port_logging = yes
# no DNS on this machine: no reverse lookups (clients show as unknown[ip])
smtpd_peername_lookup = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
# local recipients: a table, not Unix accounts; everything accepted is discarded
local_recipient_maps = hash:$PC/local_recipients
alias_maps =
alias_database =
local_transport = discard:delivered-locally
default_transport = discard:relayed
relay_transport = discard:relayed
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
# STARTTLS with a self-signed certificate; AUTH allowed without TLS (captures in clear)
smtpd_tls_cert_file = $PC/tls.crt
smtpd_tls_key_file = $PC/tls.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
# Cyrus SASL with a sasldb (LOGIN and PLAIN), enabled on port 2525 only
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PC/sasl
smtpd_sasl_local_domain = mx.sample.test
smtpd_sasl_auth_enable = no
# port 2525: authentication required.  A sender of ours that is not logged in gets Postfix's
# own "not logged in"; any other unauthenticated sender gets RFC 4954's 530 5.7.0 (from an
# access table: Postfix has no built-in "Authentication required" text).
port2525_sender_restrictions = reject_unauthenticated_sender_login_mismatch,
    permit_sasl_authenticated, check_sender_access static:{530 5.7.0 Authentication required}
port2525_relay_restrictions = permit_sasl_authenticated, reject
EOF
    cat > "$PC/master.cf" <<EOF
# smtpscope sample instance, written by samples/$PF_WRITER (no chroot)
smtp      inet  n       -       n       -       -       smtpd
2525      inet  n       -       n       -       -       smtpd
  -o syslog_name=$PF_SYSLOG/port2525
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_delay_reject=no
  -o smtpd_sender_login_maps=hash:$PC/sender_logins
  -o smtpd_sender_restrictions=\$port2525_sender_restrictions
  -o smtpd_relay_restrictions=\$port2525_relay_restrictions
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

pf_start() {    # maps, certificate, SASL user; start; wait (bounded) for "SRV:25" and ":2525"
    printf '%s OK\n' alice@sample.test bob@sample.test kate@sample.test postmaster@sample.test \
        > "$PC/local_recipients"
    printf 'alice@sample.test alice\nbob@sample.test bob\n' > "$PC/sender_logins"
    postmap -c "$PC" "hash:$PC/local_recipients" "hash:$PC/sender_logins"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mx.sample.test \
        -keyout "$PC/tls.key" -out "$PC/tls.crt" 2>/dev/null
    chmod 600 "$PC/tls.key"
    # the one SASL user; the password is obviously fake and visible (base64) in the captures
    echo 'not-a-real-password' | saslpasswd2 -p -f "$DD/sasldb2" -c -u mx.sample.test alice
    chown postfix "$DD/sasldb2"; chmod 600 "$DD/sasldb2"
    cat > "$PC/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $DD/sasldb2
mech_list: PLAIN LOGIN
EOF
    timeout 60 postfix -c "$PC" check
    timeout 60 postfix -c "$PC" start
    local i
    for i in $(seq 1 40); do
        ss -Htln "( sport = :25 or sport = :2525 )" | grep -q "$SRV:2525" &&
            ss -Htln "( sport = :25 )" | grep -q "$SRV:25" && break
        sleep 0.25
    done
    ss -Htln "( sport = :2525 )" | grep -q "$SRV:2525" || fail "Postfix did not start (see $LOG)"
}

pf_cleanup() {  # stop the instance, keep a copy of its log in WORK, remove it (KEEP_POSTFIX=1 keeps)
    if [ -f "$PC/main.cf" ]; then
        timeout 60 postfix -c "$PC" stop >/dev/null 2>&1
        [ -f "$LOG" ] && cp "$LOG" "$WORK/$(basename "$LOG")" 2>/dev/null
        if [ "${KEEP_POSTFIX:-0}" != 1 ]; then rm -rf "$PC" "$QD" "$DD"; fi
    fi
    [ "$RESTART_SYSTEM_POSTFIX" = 1 ] && timeout 60 postfix start >/dev/null 2>&1
}
