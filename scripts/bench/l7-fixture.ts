/**
 * The L7 test's backend and vane config, for the scripts that run vane with real
 * sockets outside bench.mjs (alloc-wrk.ts, old-space-wrk.ts): nginx answering "ok\n" on
 * two ports, and scripts/bench/vane.yaml's L7 listener routing by Host to them.
 */

/** nginx.conf for the backend, its files under `dir`. */
export function backendConf(dir: string, port: number, other: number): string {
  return `worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${port};
    listen 127.0.0.1:${other};
    location / { return 200 "ok\\n"; }
  }
}
`;
}

/** The L7 listener of scripts/bench/vane.yaml, with its pools and settings. */
export function vaneL7Yaml(l7: number, backend: number, other: number): string {
  return `listeners:
  - listen: http://127.0.0.1:${l7}
    flow:
      - when: { host: bench.local }
        proxy: bench
      - when: { host: other.local }
        proxy: other
pools:
  bench: { targets: [127.0.0.1:${backend}], health: { check: none } }
  other: { targets: [127.0.0.1:${other}], health: { check: none } }
control: { listen: off }
timeouts: { idle: 10m, grace: 0s }
log: { level: warn }
workers: 1
`;
}
