#!/usr/bin/env bash
# Brings up everything the integration tests and examples need, idempotently:
#   - Debian's docker.io engine, started without a bridge (no private-range addresses),
#   - Debian's docker-registry on 127.0.0.1:5555 (open) and 127.0.0.1:5556 (htpasswd),
#   - Debian's docker-registry with `auth: token` on 127.0.0.1:5557, and the tests' token server
#     (test/fixtures/token-server) on 127.0.0.1:5558,
#   - a busybox:latest base image made offline from Debian's busybox-static,
#   - Debian's OpenSSH sshd on 127.0.0.1:2222 in front of the same engine, for ssh:// engines
#     (root login by key only; its config, keys and an ssh client config in $STATE_DIR/sshd).
#   - Debian's podman serving its Docker-compatible API on unix:///run/pdu-podman/podman.sock.
# Safe to run again and again: whatever already runs is left alone.
set -euo pipefail

STATE_DIR=${PDU_STATE_DIR:-/var/lib/prefect-dockerutils-test}
LOG_DIR=${PDU_LOG_DIR:-/var/log/prefect-dockerutils-test}
REGISTRY_PORT=${PDU_REGISTRY_PORT:-5555}
AUTH_REGISTRY_PORT=${PDU_AUTH_REGISTRY_PORT:-5556}
AUTH_REGISTRY_USER=${PDU_AUTH_REGISTRY_USER:-pdu-user}
SSHD_PORT=${PDU_SSHD_PORT:-2222}
# Symbol-rich on purpose: it proves the base64url encoding of registry headers.
AUTH_REGISTRY_PASSWORD=${PDU_AUTH_REGISTRY_PASSWORD:-'p+a/s=s"w'\''ö€rd?'}
TOKEN_REGISTRY_PORT=${PDU_TOKEN_REGISTRY_PORT:-5557}
TOKEN_SERVER_PORT=${PDU_TOKEN_SERVER_PORT:-5558}
TOKEN_ISSUER=pdu-token-issuer
TOKEN_SERVICE=pdu-token-registry
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Debian's 20.10 client: the 28.x client on PATH may lack features we rely on here.
DOCKER=/usr/bin/docker

log() { printf '[test-services] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    log "must run as root (installs Debian packages and starts dockerd)"
    exit 1
  fi
}

install_packages() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  [ -x /usr/bin/docker ] || missing+=(docker.io)
  command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
  [ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || missing+=(busybox-static)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v git >/dev/null 2>&1 || missing+=(git)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # BuildKit's SSH forwarding tests run a real agent (ssh-agent, ssh-keygen, ssh-add).
  command -v ssh-agent >/dev/null 2>&1 || missing+=(openssh-client)
  # ssh:// engines are tested through a real sshd, as the docker CLI reaches them.
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  # The command line's terminal display is tested on a real pseudo-terminal inside tmux.
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  # The parity tests compare our pure helpers with the Python libraries Prefect uses.
  /usr/bin/python3 -c 'import slugify' >/dev/null 2>&1 || missing+=(python3-slugify)
  /usr/bin/python3 -c 'import packaging.version' >/dev/null 2>&1 || missing+=(python3-packaging)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d stops the packages' own service start; we start things ourselves.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

engine_up() { "$DOCKER" version >/dev/null 2>&1; }

start_engine() {
  if engine_up; then
    log "docker engine already running"
    return
  fi
  # A dockerd that was killed leaves its pid file behind and a new one refuses to start.
  if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  if [ -f /var/run/docker/containerd/containerd.pid ] && ! kill -0 "$(cat /var/run/docker/containerd/containerd.pid)" 2>/dev/null; then
    rm -f /var/run/docker/containerd/containerd.pid
  fi
  log "starting dockerd (no bridge, no iptables)"
  nohup setsid dockerd --bridge=none --iptables=false --ip6tables=false \
    >"$LOG_DIR/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do
    engine_up && { log "docker engine is up"; return; }
    sleep 0.5
  done
  log "dockerd did not come up within 60 s; its log:"
  tail -n 50 "$LOG_DIR/dockerd.log" >&2 || true
  exit 1
}

# BuildKit 0.8 (Docker 20.10) can lose a snapshot its cache metadata still names (moby/buildkit
# #3599); from then on every `GET /system/df` fails with "error getting build cache usage", which
# the integration run's leak check needs, and `docker builder prune -a` does not mend it. The
# build cache is only a cache: when the engine can no longer list it, it is reset (dockerd
# stopped, /var/lib/docker/buildkit removed, dockerd started again). Images are not touched.
repair_build_cache() {
  local answer
  if answer=$("$DOCKER" system df 2>&1); then return; fi
  case "$answer" in
  *"error getting build cache usage"*) ;;
  *)
    log "docker system df failed: $answer"
    exit 1
    ;;
  esac
  log "the engine's BuildKit cache is broken ($answer); resetting it"
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -z "$pid" ]; then
    log "cannot find dockerd's pid to restart it; reset the build cache by hand (stop dockerd, remove /var/lib/docker/buildkit)"
    exit 1
  fi
  kill "$pid"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd ($pid) did not stop within 60 s"
    exit 1
  fi
  rm -rf /var/lib/docker/buildkit
  start_engine
  if ! answer=$("$DOCKER" system df 2>&1); then
    log "the build cache is still unreadable after its reset: $answer"
    exit 1
  fi
}

# Writes a docker-registry configuration on 127.0.0.1:PORT with storage in DIR and the given
# `auth:` block (empty for none), starts it, and waits until it answers /v2/.
serve_registry() {
  local port=$1 dir=$2 auth_block=$3 what=$4
  mkdir -p "$dir/storage"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$auth_block
YAML
  log "starting $what on 127.0.0.1:$port"
  nohup setsid docker-registry serve "$dir/config.yml" >"$LOG_DIR/registry-$port.log" 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    curl -sS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null && return
    sleep 0.25
  done
  log "$what on 127.0.0.1:$port did not come up; its log:"
  tail -n 50 "$LOG_DIR/registry-$port.log" >&2 || true
  exit 1
}

start_registry() {
  local port=$1 auth=$2
  local dir="$STATE_DIR/registry-$port"
  if curl -sS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
    log "registry on 127.0.0.1:$port already running"
    return
  fi
  mkdir -p "$dir"
  local auth_block=""
  if [ "$auth" = "htpasswd" ]; then
    htpasswd -Bbc "$dir/htpasswd" "$AUTH_REGISTRY_USER" "$AUTH_REGISTRY_PASSWORD" >/dev/null 2>&1
    auth_block="auth:
  htpasswd:
    realm: prefect-dockerutils-test
    path: $dir/htpasswd"
  fi
  serve_registry "$port" "$dir" "$auth_block" "the registry ($auth)"
}

# The bearer-token registry: Debian's docker-registry with `auth: token`, trusting the certificate
# of the tests' token server (test/fixtures/token-server/token-server.mjs), which issues tokens for
# the htpasswd registry's user and password. The token server runs from a copy in the state
# folder, so it does not depend on the checkout that started it; it is restarted when the fixture
# changed (its /health names its own hash).
start_token_registry() {
  local dir="$STATE_DIR/registry-$TOKEN_REGISTRY_PORT"
  local fixture="$ROOT/test/fixtures/token-server/token-server.mjs"
  mkdir -p "$dir/storage"
  if ! command -v node >/dev/null 2>&1; then
    log "node is not on PATH: the token server of the token registry needs it"
    exit 1
  fi
  if [ ! -s "$dir/token.key" ] || [ ! -s "$dir/token.crt" ]; then
    log "making the token issuer's key and certificate"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -subj "/CN=$TOKEN_ISSUER" \
      -keyout "$dir/token.key" -out "$dir/token.crt" >/dev/null 2>&1
    chmod 600 "$dir/token.key"
  fi
  printf '%s:%s\n' "$AUTH_REGISTRY_USER" \
    "$(printf '%s' "$AUTH_REGISTRY_PASSWORD" | sha256sum | cut -d' ' -f1)" >"$dir/token-users"
  chmod 600 "$dir/token-users"

  local version
  version=$(sha256sum <"$fixture" | cut -c1-16)
  if curl -sSf "http://127.0.0.1:$TOKEN_SERVER_PORT/health" 2>/dev/null | grep -qx "ok $version"; then
    log "token server on 127.0.0.1:$TOKEN_SERVER_PORT already running"
  else
    # Only the server this function started (its pid file, its command line) is ever stopped.
    if [ -f "$dir/token-server.pid" ]; then
      local old
      old=$(cat "$dir/token-server.pid")
      if { tr '\0' ' ' <"/proc/$old/cmdline"; } 2>/dev/null | grep -qF "$dir/token-server.mjs"; then
        log "restarting the token server (its fixture changed)"
        kill "$old" 2>/dev/null || true
        for _ in $(seq 1 20); do kill -0 "$old" 2>/dev/null || break; sleep 0.1; done
      fi
    fi
    cp "$fixture" "$dir/token-server.mjs"
    log "starting the token server on 127.0.0.1:$TOKEN_SERVER_PORT"
    nohup setsid node "$dir/token-server.mjs" "$dir" "$TOKEN_SERVER_PORT" "$TOKEN_ISSUER" "$TOKEN_SERVICE" \
      >"$LOG_DIR/token-server-$TOKEN_SERVER_PORT.log" 2>&1 </dev/null &
    echo $! >"$dir/token-server.pid"
    local up=""
    for _ in $(seq 1 40); do
      if curl -sSf "http://127.0.0.1:$TOKEN_SERVER_PORT/health" 2>/dev/null | grep -qx "ok $version"; then
        up=1
        break
      fi
      sleep 0.25
    done
    if [ -z "$up" ]; then
      log "the token server on 127.0.0.1:$TOKEN_SERVER_PORT did not come up; its log:"
      tail -n 50 "$LOG_DIR/token-server-$TOKEN_SERVER_PORT.log" >&2 || true
      exit 1
    fi
  fi

  if curl -sS -o /dev/null "http://127.0.0.1:$TOKEN_REGISTRY_PORT/v2/" 2>/dev/null; then
    log "token registry on 127.0.0.1:$TOKEN_REGISTRY_PORT already running"
    return
  fi
  serve_registry "$TOKEN_REGISTRY_PORT" "$dir" "auth:
  token:
    realm: http://127.0.0.1:$TOKEN_SERVER_PORT/token
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $dir/token.crt" "the token registry"
}

make_base_image() {
  if "$DOCKER" image inspect busybox:latest >/dev/null 2>&1; then
    log "busybox:latest already present"
    return
  fi
  log "making busybox:latest offline from Debian's busybox-static"
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/tmp" "$root/etc" "$root/root"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list-full); do
    [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar -C "$root" -c . | "$DOCKER" import \
    --change 'CMD ["sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    - busybox:latest >/dev/null
}

# BuildKit's private FROM tests: busybox on the htpasswd registry, and not tagged in the engine,
# so that BuildKit must pull it with the session's credentials.
PRIVATE_BASE_REPOSITORY=pdu-buildkit/private-base
PRIVATE_BASE="127.0.0.1:$AUTH_REGISTRY_PORT/$PRIVATE_BASE_REPOSITORY:1"

push_private_base() {
  if curl -sSf -o /dev/null -u "$AUTH_REGISTRY_USER:$AUTH_REGISTRY_PASSWORD" \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://127.0.0.1:$AUTH_REGISTRY_PORT/v2/$PRIVATE_BASE_REPOSITORY/manifests/1" 2>/dev/null; then
    log "private base image $PRIVATE_BASE already pushed"
  else
    log "pushing the private base image $PRIVATE_BASE"
    local config
    config=$(mktemp -d)
    printf '%s' "$AUTH_REGISTRY_PASSWORD" |
      DOCKER_CONFIG=$config "$DOCKER" login -u "$AUTH_REGISTRY_USER" --password-stdin \
        "127.0.0.1:$AUTH_REGISTRY_PORT" >/dev/null 2>&1
    "$DOCKER" tag busybox:latest "$PRIVATE_BASE"
    DOCKER_CONFIG=$config "$DOCKER" push "$PRIVATE_BASE" >/dev/null
    rm -rf "$config"
  fi
  # Untagged (not removed: the layers are busybox's) so that builds must pull it.
  "$DOCKER" image rm --no-prune "$PRIVATE_BASE" >/dev/null 2>&1 || true
}

sshd_up() {
  local banner
  banner=$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SSHD_PORT && head -c 8 <&3" 2>/dev/null) || return 1
  [ "$banner" = "SSH-2.0-" ]
}

# The sshd the ssh:// tests reach the engine through. Everything it uses lives in $dir:
#   sshd_config, the host key, authorized_keys, and for the client side ssh_config (IdentityFile,
#   UserKnownHostsFile, the test host aliases), the client keys, known_hosts and bin/ssh, a wrapper
#   that runs /usr/bin/ssh -F ssh_config (put first on PATH, it is what the library and the docker
#   CLI run). OpenSSH reads ~/.ssh from the passwd entry, not $HOME, hence -F.
# Host aliases in ssh_config, each reaching this sshd:
#   pdu-refused  with a key sshd does not accept;
#   pdu-unknown  with an empty known_hosts file, so the host key is unknown;
#   pdu-nodocker with a key whose sessions have no docker on PATH;
#   pdu-agent    with the key only from the agent at SSH_AUTH_SOCK;
#   pdu-hang     through a ProxyCommand that never connects.
start_sshd() {
  local dir="$STATE_DIR/sshd"
  mkdir -p "$dir/bin" /run/sshd
  chmod 700 "$dir"
  local key
  for key in host_key client_key refused_key nodocker_key; do
    [ -f "$dir/$key" ] || ssh-keygen -q -t ed25519 -N '' -C "pdu-test-$key" -f "$dir/$key"
  done
  {
    printf '%s\n' "$(cat "$dir/client_key.pub")"
    # Only PATH may be set per key (PermitUserEnvironment PATH): this key's sessions lack docker.
    printf 'environment="PATH=/nonexistent" %s\n' "$(cat "$dir/nodocker_key.pub")"
  } >"$dir/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
  : >"$dir/empty_known_hosts"
  cat >"$dir/sshd_config" <<CONFIG
ListenAddress 127.0.0.1:$SSHD_PORT
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
AllowUsers root
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitUserEnvironment PATH
AllowTcpForwarding no
AllowAgentForwarding no
X11Forwarding no
PermitTTY no
PrintMotd no
# Every engine request is one ssh connection: let parallel tests connect at once.
MaxStartups 200
LoginGraceTime 30
CONFIG
  # IdentityFile accumulates over matching blocks (other settings: the first value wins), so the
  # working key is kept from the aliases that must not have it.
  cat >"$dir/ssh_config" <<CONFIG
Host pdu-refused
  HostName 127.0.0.1
  Port $SSHD_PORT
  IdentityFile $dir/refused_key
Host pdu-unknown
  HostName 127.0.0.1
  Port $SSHD_PORT
  UserKnownHostsFile $dir/empty_known_hosts
Host pdu-nodocker
  HostName 127.0.0.1
  Port $SSHD_PORT
  IdentityFile $dir/nodocker_key
Host pdu-agent
  HostName 127.0.0.1
  Port $SSHD_PORT
  IdentityAgent SSH_AUTH_SOCK
  IdentitiesOnly no
Host pdu-hang
  HostName 127.0.0.1
  Port $SSHD_PORT
  ProxyCommand sleep 600
Host * !pdu-refused !pdu-nodocker !pdu-agent
  IdentityFile $dir/client_key
  IdentityAgent none
Host *
  IdentitiesOnly yes
  UserKnownHostsFile $dir/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
CONFIG
  cat >"$dir/bin/ssh" <<WRAPPER
#!/bin/sh
exec /usr/bin/ssh -F $dir/ssh_config "\$@"
WRAPPER
  chmod 755 "$dir/bin/ssh"
  if sshd_up; then
    log "sshd on 127.0.0.1:$SSHD_PORT already running"
    return
  fi
  log "starting sshd on 127.0.0.1:$SSHD_PORT"
  /usr/sbin/sshd -t -f "$dir/sshd_config"
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$LOG_DIR/sshd.log"
  for _ in $(seq 1 40); do
    sshd_up && return
    sleep 0.25
  done
  log "sshd on 127.0.0.1:$SSHD_PORT did not come up; its log:"
  tail -n 50 "$LOG_DIR/sshd.log" >&2 || true
  exit 1
}

# Podman's Docker-compatible API service, for the podman test project (vitest.config.ts): its own
# storage (vfs) and run folders, runc (crun refuses this sandbox's hybrid cgroup layout), cgroupfs,
# events in a file (no journald), and a containers.conf of its own: no network for containers and
# build steps (CNI's default would be a bridge on 10.88.0.0/16), and open-files and process limits
# within the hard limits here (rootful Podman asks for 1048576 open files, which runc then fails
# to set). The loopback registries are marked insecure in /etc/containers/registries.conf, where
# Podman reads that (it has no daemon.json); busybox:latest comes from the Docker engine and is
# named `localhost/busybox:latest` there, as `podman load` names what has no registry.
PODMAN_SOCKET=${PDU_PODMAN_SOCKET:-/run/pdu-podman/podman.sock}
PODMAN_RUN_DIR=$(dirname "$PODMAN_SOCKET")
PODMAN_DIR="$STATE_DIR/podman"
REGISTRIES_CONF=/etc/containers/registries.conf
PODMAN_FLAGS=(--root "$PODMAN_DIR/storage" --runroot "$PODMAN_RUN_DIR/run" --storage-driver vfs
  --cgroup-manager cgroupfs --runtime runc --events-backend file)

podman_cli() { CONTAINERS_CONF="$PODMAN_DIR/containers.conf" podman "${PODMAN_FLAGS[@]}" "$@"; }

podman_up() { curl -sSf -o /dev/null --unix-socket "$PODMAN_SOCKET" http://podman/_ping 2>/dev/null; }

run_podman_service() {
  rm -f "$PODMAN_SOCKET"
  log "starting the podman service on unix://$PODMAN_SOCKET"
  nohup setsid env CONTAINERS_CONF="$PODMAN_DIR/containers.conf" podman "${PODMAN_FLAGS[@]}" \
    system service --time=0 "unix://$PODMAN_SOCKET" >"$LOG_DIR/podman.log" 2>&1 </dev/null &
  echo $! >"$PODMAN_RUN_DIR/podman.pid"
  for _ in $(seq 1 60); do podman_up && break; sleep 0.25; done
  podman_up || {
    log "the podman service did not come up; its log:"
    tail -n 50 "$LOG_DIR/podman.log" >&2 || true
    exit 1
  }
}

stop_podman() {
  kill "$(cat "$PODMAN_RUN_DIR/podman.pid")" 2>/dev/null || true
  for _ in $(seq 1 40); do podman_up || break; sleep 0.25; done
}

# Podman 4.3's vfs store can lose an image's layers while another client removes images at the
# same moment (several test runs at once did it); from then on every image list and classic build
# fails with "image not known". The store under $PODMAN_DIR is this script's own, holding only what
# the test runs made and busybox:latest: it is emptied and the service restarted, and busybox is
# loaded again below.
repair_podman_store() {
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$PODMAN_SOCKET" \
    http://podman/v1.41/images/json 2>/dev/null || true)
  [ "$status" = 200 ] && return
  log "podman's image store answers $status to an image list; emptying it and restarting podman"
  stop_podman
  rm -rf "$PODMAN_DIR/storage" "$PODMAN_RUN_DIR/run"
  run_podman_service
}

# Writes the service's containers.conf and appends a [[registry]] table for each loopback
# registry registries.conf does not name yet; succeeds when either file changed (a running service
# must then be restarted to read them).
configure_podman() {
  local port changed=1 conf nofile nproc
  nofile=$(ulimit -Hn)
  # The service lowers its own process limit to 32768 at start; more fails in runc.
  nproc=$(ulimit -Hu)
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ] && nproc=32768
  conf=$(printf '[containers]\nnetns = "none"\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]' \
    "$nofile" "$nofile" "$nproc" "$nproc")
  if [ "$(cat "$PODMAN_DIR/containers.conf" 2>/dev/null)" != "$conf" ]; then
    printf '%s\n' "$conf" >"$PODMAN_DIR/containers.conf"
    changed=0
  fi
  mkdir -p "$(dirname "$REGISTRIES_CONF")"
  touch "$REGISTRIES_CONF"
  for port in "$REGISTRY_PORT" "$AUTH_REGISTRY_PORT"; do
    grep -q "^location = \"127.0.0.1:$port\"" "$REGISTRIES_CONF" && continue
    printf '\n# prefect-dockerutils test registry (scripts/test-services.sh)\n[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' \
      "$port" >>"$REGISTRIES_CONF"
    changed=0
  done
  return "$changed"
}

start_podman() {
  command -v podman >/dev/null 2>&1 || {
    log "installing Debian packages: podman"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends podman >/dev/null
  }
  mkdir -p "$PODMAN_DIR" "$PODMAN_RUN_DIR"
  if configure_podman && podman_up; then
    log "podman's configuration changed: restarting the podman service"
    stop_podman
  fi
  if podman_up; then
    log "podman service already running"
  else
    run_podman_service
  fi
  repair_podman_store
  if podman_cli image exists busybox:latest; then
    log "busybox:latest already in podman"
  else
    log "loading busybox:latest into podman"
    "$DOCKER" save busybox:latest | podman_cli load >/dev/null
  fi
}

need_root
mkdir -p "$STATE_DIR" "$LOG_DIR"
install_packages
start_engine
repair_build_cache
start_registry "$REGISTRY_PORT" open
start_registry "$AUTH_REGISTRY_PORT" htpasswd
start_token_registry
make_base_image
push_private_base
start_sshd
start_podman
log "ready: engine $("$DOCKER" version --format '{{.Server.Version}}'), registries 127.0.0.1:$REGISTRY_PORT, 127.0.0.1:$AUTH_REGISTRY_PORT and 127.0.0.1:$TOKEN_REGISTRY_PORT (token server 127.0.0.1:$TOKEN_SERVER_PORT), busybox:latest, sshd on 127.0.0.1:$SSHD_PORT, podman on unix://$PODMAN_SOCKET"
