/**
 * The systemd unit `vane service install` writes: the same text as
 * packaging/vane.service (a unit test keeps them equal), with ExecStart naming the
 * installed binary. Hardened: its own dynamic user, only CAP_NET_BIND_SERVICE, a
 * read-only system but for /etc/vane (config) and /var/lib/vane (state).
 */

/** The binary the packaged unit starts; `vane service install` puts its own path in. */
export const UNIT_BINARY = "/usr/local/bin/vane";

/** packaging/vane.service, word for word. */
export const SERVICE_UNIT = `# vane as a systemd service. 'vane service install' writes this file to
# /etc/systemd/system/vane.service; then: systemctl daemon-reload && systemctl enable --now vane
# Config: /etc/vane/vane.yaml (vane check /etc/vane/vane.yaml before a reload), and
# VANE_* variables (one per flag, docs/install.md) in /etc/vane/vane.env.
[Unit]
Description=vane edge proxy
Documentation=https://github.com/vane-proxy/vane/blob/main/docs/install.md
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=/usr/local/bin/vane --config /etc/vane/vane.yaml --pid-file /run/vane/vane.pid
# 'vane upgrade --pid-file /run/vane/vane.pid' (or systemctl kill -s USR2 --kill-whom=main
# vane) starts the binary now at that path beside the running one; the new process writes
# its pid here before the old one exits, and systemd follows it as the main process.
PIDFile=/run/vane/vane.pid
RuntimeDirectory=vane
# Connections queued on the old process's sockets when it closes them move to the new
# one instead of being reset (Linux 5.14+; '+' runs this as root, '-' ignores older kernels).
ExecStartPre=-+/bin/sh -c 'echo 1 > /proc/sys/net/ipv4/tcp_migrate_req'
# SIGHUP re-reads /etc/vane/vane.yaml; a bad file is refused and the old config kept.
ExecReload=/bin/kill -HUP $MAINPID
# SIGTERM stops accepting and lets open connections finish for --grace (default 10s).
KillSignal=SIGTERM
TimeoutStopSec=30s
Restart=on-failure
RestartSec=2s
EnvironmentFile=-/etc/vane/vane.env

# Its own user, created for the service; ports below 1024 without root.
DynamicUser=yes
User=vane
Group=vane
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
LimitNOFILE=1048576

# Read-only system; /etc/vane to read (secrets such as VANE_ADMIN_TOKEN go in
# vane.env, which systemd reads as root), /var/lib/vane to write (certificates, state).
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ConfigurationDirectory=vane
ConfigurationDirectoryMode=0755
StateDirectory=vane
StateDirectoryMode=0750
WorkingDirectory=/var/lib/vane
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
UMask=0027

[Install]
WantedBy=multi-user.target
`;

/** The unit with ExecStart naming `binary` instead of /usr/local/bin/vane. */
export function serviceUnit(binary: string): string {
  return SERVICE_UNIT.replace(`ExecStart=${UNIT_BINARY} `, `ExecStart=${binary} `);
}
