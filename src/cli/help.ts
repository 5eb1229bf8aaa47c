/** The --help text. Keep it in step with OPTIONS in args.ts; a unit test checks every flag is here. */
export const HELP = `vane - a small edge proxy for Deno and Bun

Usage: vane --route MATCH=TARGETS [--route ...] [flags]
       vane run FILE [flags]       run a YAML config (same as --config FILE)
       vane check FILE [flags]     validate a YAML config: exit 0, or print every error

Config file (docs/config.md):
  --config FILE            Read listeners, flows, pools and the rest from YAML FILE.
                           Flags given as well win: --route replaces every listener's
                           flow, --listen the address of a file with one listener, and
                           each other flag its setting (pool flags: in every pool).
                           vane reloads FILE on SIGHUP, when it changes, and on
                           POST /reload at the status endpoint.
  --print-config           Print the config (flags and file merged) as YAML and exit;
                           'vane run' of that output behaves the same.

Listening and routing:
  --listen ADDR            Accept connections on ADDR; repeatable.
                           ADDR: [SCHEME://]HOST:PORT, :PORT (all interfaces) or
                           [IPv6]:PORT. tcp:// (default) routes TLS by SNI, HTTP per
                           request and the rest to '*'; http:// is HTTP/1.1 only;
                           https:// terminates TLS (--tls) then HTTP/1.1; udp:// forwards
                           datagrams, one session per client.
                           Default: 0.0.0.0:8080
  --route MATCH=TARGETS    Send matching connections to TARGETS; repeatable, at least one
                           required. Every listener gets every route, in the order given.
  --pool NAME=TARGETS      Define a named pool that routes can use; repeatable.
                           NAME: letters, digits, "-", "_", ".".
  --node NAME=IP[,IP...]   Define a static node for node:NAME:PORT targets; repeatable.
  --fallback TARGETS       Targets used only when no target of a pool is alive; applies
                           to every pool (a config file's too). Default: none

Balancing and health:
  --strategy NAME          serial, random, fastest, leastconn, p2c, hash:client, hash:path,
                           hash:header:NAME, hash:cookie:NAME (,bound=C) or sticky[:cookie:NAME]. Default: serial
  --health CHECK           tcp, none, or http:/PATH (GET PATH, expect 200-399). Default: tcp
  --health-expect RANGE    Statuses an http check accepts: N or N-M. Default: 200-399
  --health-interval DUR    Time between health checks. Default: 2s
  --health-timeout DUR     Time a health check may take. Default: 1s
  --rise N                 Passed checks before a target is up (1..100). Default: 2
  --fall N                 Failed checks before a target is down (1..100). Default: 3
  --retry-on LIST          Failures that send a request on to another target:
                           conn-failure (a failed connect), empty-response and
                           response-timeout (HTTP: an idempotent request without a
                           body, before any response byte; once), comma-separated,
                           or none. Default: conn-failure
  --maxconn N              Requests (HTTP) or connections (TCP) each target serves at
                           once, per process; more wait in the pool's queue. Default: no limit
  --maxqueue N             Requests that may wait in a pool's queue (with --maxconn);
                           more get 503 at once, 0 lets none wait. Default: 1024
  --queue-timeout DUR      Time a request may wait in the queue before a 503 (with
                           --maxconn). Default: 5s
  --retries N              Retries per request (0..10), each on a target not yet tried
                           when one is left. Default: 1
  --retry-budget PERCENT   Retries in flight may be at most this share of the pool's
                           requests in flight (but 3 at least). Default: 20%
  --outlier SPEC           Passive outlier ejection: on (defaults), off, or KEY=VALUE,...
                           of consecutive-5xx (5), consecutive-resets (5), base-ejection
                           (30s), max-ejection (300s), max-ejected (50%). Default: off

Timeouts:
  --connect-timeout DUR    Time to connect to a target. Default: 5s
  --idle-timeout DUR       Close a connection idle this long. Default: 10m
  --grace DUR              On shutdown, wait this long for open connections (0s: none).
                           Default: 10s
  --udp-idle-timeout DUR   Close a UDP session quiet both ways this long. Default: 30s
  --upstream-timeout DUR   HTTP: answer 504 when a target sends no response head this
                           long after the request. Default: 60s
  --request-head-timeout DUR
                           HTTP: a request head must be whole this long after the
                           connection opened (first request) or after its first byte;
                           else 408 and close. Default: 10s
  --keep-alive-timeout DUR HTTP: close a kept-alive connection with no next request
                           this long. Default: 60s
  --body-timeout DUR       HTTP: end an exchange whose request or response body moves
                           no byte this long (408 if no answer began). Default: 60s

HTTP limits:
  --max-header-line N      Longest request line or header line, 1024..65536 bytes;
                           longer gets 431. Default: 8192
  --max-partial-heads N    Connections from one client address that may be in the
                           middle of a request head at once, per worker; one more is
                           closed (0: no limit). Default: 32
  --encoded-slash MODE     reject (400) or keep a path with %2F, %5C, \\ or ..;
                           Default: reject

TLS termination:
  --tls CERT.pem,KEY.pem   A certificate for https:// listeners, chosen by SNI (wildcard
                           names too); the first is the default. Repeatable.
  --redirect-http          Add an http://:80 listener that answers every request with
                           308 to the same URL over HTTPS (the https:// listener's port).

Automatic HTTPS (ACME):
  --acme EMAIL             Obtain and renew a certificate for every host an https://
                           listener routes by name, from an ACME CA (Let's Encrypt by
                           default); adds an http://:80 listener for HTTP-01 when
                           there is no http:// listener (other requests get 308 to HTTPS)
  --acme-directory URL     The CA's directory. Default:
                           https://acme-v02.api.letsencrypt.org/directory
  --acme-ca-root FILE      Verify the CA's HTTPS endpoint against this PEM root
                           (staging or private CAs). Default: the system's roots
  --acme-challenge C       auto, http-01 or tls-alpn-01. Default: auto (http-01 when
                           there is an http:// listener, and tls-alpn-01)
  --state-dir DIR          Where the ACME account and certificates are kept.
                           Default: $STATE_DIRECTORY (systemd), else $XDG_DATA_HOME/vane
                           or ~/.local/share/vane

PROXY protocol:
  --proxy-protocol V       Send a PROXY protocol header (v1 or v2) to targets, carrying
                           the client's address. Default: none
  --protocol P             How to speak HTTP to targets: http1, h2c (HTTP/2 in clear,
                           multiplexed; gRPC) or h2 (HTTP/2 over TLS). Default: http1
  --accept-proxy CIDRS     Connections from these peers (CIDR[,CIDR...]) must start with
                           a PROXY header (v1 or v2); its address becomes the client's.
                           Repeatable. Default: none
  --allow CIDRS            Serve only clients in these ranges (CIDR[,CIDR...]), on every
                           listener; others are closed unanswered. Repeatable. Default: all
  --deny CIDRS             Refuse clients in these ranges, even inside --allow.
                           Repeatable. Default: none
  --max-conns-per-client N Connections one client address may hold open on a
                           listener (per process); more are closed. Default: no limit

Operations:
  --workers N|auto         Processes serving the listeners, each with its own
                           SO_REUSEPORT socket; 1 is a single event loop.
                           Default: auto (one per CPU)
  --max-conns N|auto       Client connections each process serves at once; more wait
                           (Deno: in the listen queue) or are closed unread (Bun).
                           Default: auto, (open-file limit - reserve) / 2
  --status ADDR|off        Status endpoint, HOST:PORT, :PORT or [IPv6]:PORT.
                           Default: 127.0.0.1:9901
  --admin-token TOKEN      Required as 'Authorization: Bearer TOKEN' for POST /reload,
                           POST /upgrade and every admin API change. Default: $VANE_ADMIN_TOKEN, else none
                           (POST only from loopback, and not from another site's page)
  --admin-token-file FILE  The same, from FILE's first line (kept out of ps).
  --pid-file FILE          Write the serving process's pid to FILE (vane upgrade
                           rewrites it with the new one's). Default: none
  --log-format FORMAT      text or json. Default: text
  --log-level LEVEL        debug, info, warn or error. Default: info
  --access-log FILE|-      One line per HTTP request and L4/UDP session, appended to
                           FILE (- for stderr); SIGUSR1 reopens it (logrotate).
                           Requests get an X-Request-Id and pass traceparent on.
                           Default: off
  --access-log-format FMT  json or combined (nginx's). Default: json
  --access-log-sample R    The share of lines written, 0 to 1. Default: 1
  --resolver IP:PORT       DNS server to ask instead of the system's. Default: system
  --version                Print the version and exit.
  -h, --help               Print this help and exit.

Config from etcd (fleets; docs/fleet.md):
  --etcd URL[,URL...]      Read the config from etcd (v3 API, http:// or https://):
                           the key PREFIX/config holds the YAML a file would, and
                           vane reloads when it changes. Instead of a config FILE
  --etcd-prefix P          The key prefix. Default: /vane (key /vane/config)
  --etcd-user USER         Authenticate as USER, with --etcd-password-file FILE
  --etcd-password-file F   The password, from F's first line (kept out of ps)
  --etcd-ca FILE           PEM CA of the members' certificates. Default: system roots
  --etcd-cert FILE         PEM client certificate (with --etcd-key FILE), for members
  --etcd-key FILE          that require one
                           The last good config is cached under --state-dir: a vane
                           started while etcd is down serves it.

Environment:
  Every flag with a value can come from a variable: --listen is VANE_LISTEN,
  --connect-timeout VANE_CONNECT_TIMEOUT, and so on (repeatable flags: values
  separated by spaces). A flag given on the command line wins. VANE_ADMIN_TOKEN is
  the admin token (below --admin-token-file and control.token-file).

Service:
  vane service install     Write the systemd unit (/etc/systemd/system/vane.service)
  vane service print       Print it. docs/install.md has the rest.
  vane upgrade             Start the executable at vane's path again (a new version
                           put there) in place of the running vane, which drains for
                           --grace; no connection is refused. 'vane upgrade --help'.
  vane ctl COMMAND         The admin API: pools, drain/undrain/add/remove POOL TARGET,
                           weight POOL TARGET N, tail. 'vane ctl --help'.

Grammar:
  MATCH    *                   any host
           HOST[/PATH]         one host, e.g. api.example.com or api.example.com/v1
           *.SUFFIX[/PATH]     any host under SUFFIX, e.g. *.example.com
  TARGETS  the NAME of a --pool, or target[,target...] (this makes a pool named after
           MATCH: "default" for *, otherwise MATCH as written)
  target   IPv4:PORT | [IPv6]:PORT | DNSNAME:PORT | node:NAME:PORT, each optionally
           followed by @WEIGHT (0..256, default 1). Target ports are 1..65535.
           Or srv:_SERVICE._PROTO.NAME: the name's DNS SRV records, one target each
           (port, weight and priority from the record). Or etcd:/PREFIX: the
           services registered under the etcd prefix (needs --etcd, or a config
           file with an etcd: key).
  DUR      a number and a unit: ms, s, m or h, e.g. 250ms, 1.5s, 10m, 1h

Examples:
  vane --listen :8080 --route '*=10.0.0.1:9000,10.0.0.2:9000@2'
  vane --node web=10.0.0.5,10.0.0.6 --pool web=node:web:443 \\
       --route 'api.example.com=web' --route '*=[::1]:9000' --fallback backup.internal:9000
  vane --route '*=10.0.0.1:9000' --print-config > vane.yaml && vane check vane.yaml
`;
