"""Private, killable copies of Redis and a Kafka broker for fault-injection and security tests.

The shared local stack (deploy/stack.sh) must never be disturbed by a test that kills
things, so these start their own processes on free loopback ports with their own data
directories: `PrivateRedis` (AOF, appendfsync always, optional ACL user) and
`PrivateKafka` (KRaft, one node, Kafka jars of the stack; PLAINTEXT or SASL_SSL with
SCRAM users created at format time and a self-signed CA made with openssl).
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.integration.monitor import REPO, free_port, wait_for

JAVA = Path(os.environ.get("KPIMON_STACK_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")) / (
    "bin/java"
)


def _stack_dir() -> Path:
    return (REPO / os.environ.get("KPIMON_STACK_DIR", "var")).resolve()


def kafka_libs() -> Path:
    return Path(os.environ.get("KPIMON_STACK_KAFKA_LIBS", _stack_dir() / "kafka" / "libs"))


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes] | None, sig: int) -> None:
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class PrivateRedis:
    """A redis-server of our own: AOF with appendfsync always, loopback, optional ACL user."""

    directory: Path
    port: int = field(default_factory=free_port)
    username: str | None = None
    password: str | None = None
    tls: dict[str, Path] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        if self.tls:
            return redis.Redis.from_url(
                f"rediss://127.0.0.1:{self.port}/0",
                username=self.username,
                password=self.password,
                ssl_ca_certs=str(self.tls["ca"]),
            )
        return redis.Redis.from_url(self.url, username=self.username, password=self.password)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / "redis.conf"
        lines = [
            "bind 127.0.0.1",
            "protected-mode yes",
            *(
                [
                    "port 0",
                    f"tls-port {self.port}",
                    f"tls-cert-file {self.tls['cert']}",
                    f"tls-key-file {self.tls['key']}",
                    f"tls-ca-cert-file {self.tls['ca']}",
                    "tls-auth-clients no",
                ]
                if self.tls
                else [f"port {self.port}"]
            ),
            "daemonize no",
            f"dir {self.directory}",
            "appendonly yes",
            "appendfsync always",
            'save ""',
        ]
        if self.username and self.password:
            lines += [
                "user default off",
                f"user {self.username} on >{self.password} ~* &* +@all",
            ]
        conf.write_text("\n".join(lines) + "\n")
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            ["redis-server", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: self.client().ping(), timeout=30, what=f"private redis on {self.port}")

    def kill(self) -> None:
        """SIGKILL: no shutdown save, only what the fsynced AOF holds survives."""
        _stop(self.process, signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)
        self.process = None


def make_tls(directory: Path) -> dict[str, Path]:
    """A self-signed CA and a server certificate for 127.0.0.1/localhost (openssl, PEM)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.pem"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "san.ext"
    ext.write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
    )

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=kpimon-test-ca", "-keyout", str(ca_key), "-out", str(ca_crt),
    )  # fmt: skip
    run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    run("req", "-new", "-key", str(key), "-subj", "/CN=127.0.0.1", "-out", str(csr))
    run(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(crt),
    )  # fmt: skip
    # Kafka's PEM keystore: an unencrypted PKCS#8 key followed by the certificate chain.
    keystore = directory / "server-keystore.pem"
    keystore.write_text(key.read_text() + crt.read_text())
    return {"ca": ca_crt, "keystore": keystore, "cert": crt, "key": key}


@dataclass
class PrivateKafka:
    """One KRaft node (broker + controller) on free loopback ports, started from the jars.

    With `scram_users` it listens SASL_SSL only (SCRAM-SHA-512, users created at format time
    with StorageTool --add-scram, PEM keystore/truststore); otherwise PLAINTEXT.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    scram_users: dict[str, str] = field(default_factory=dict)
    tls: dict[str, Path] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    cluster_id: str = field(
        default_factory=lambda: (
            base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode().replace("-", "a")
        )
    )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def secure(self) -> bool:
        return bool(self.scram_users)

    def _jvm(self) -> list[str]:
        return [
            str(JAVA), "-Xms128m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.directory / 'log4j.properties'}",
            "-cp", f"{kafka_libs()}/*",
        ]  # fmt: skip

    def _properties(self) -> str:
        data = self.directory / "data"
        common = f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{self.controller_port}
controller.listener.names=CONTROLLER
log.dirs={data}
num.partitions=2
default.replication.factor=1
min.insync.replicas=1
offsets.topic.num.partitions=2
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
"""
        if not self.secure:
            return common + (
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}\n"
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}\n"
                "inter.broker.listener.name=PLAINTEXT\n"
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT\n"
            )
        admin, admin_password = next(iter(self.scram_users.items()))
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{admin}" password="{admin_password}";'
        )
        return common + (
            f"listeners=SASL_SSL://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}\n"
            f"advertised.listeners=SASL_SSL://127.0.0.1:{self.port}\n"
            "inter.broker.listener.name=SASL_SSL\n"
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL\n"
            "sasl.enabled.mechanisms=SCRAM-SHA-512\n"
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n"
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={jaas}\n"
            "ssl.keystore.type=PEM\n"
            f"ssl.keystore.location={self.tls['keystore']}\n"
            "ssl.truststore.type=PEM\n"
            f"ssl.truststore.location={self.tls['ca']}\n"
            "ssl.client.auth=none\n"
            "ssl.endpoint.identification.algorithm=\n"
        )

    def format(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "server.properties").write_text(self._properties())
        (self.directory / "log4j.properties").write_text(
            "log4j.rootLogger=WARN, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka.server.KafkaServer=INFO\n"
            "log4j.logger.kafka.server.KafkaRaftServer=INFO\n"
        )
        scram: list[str] = []
        for user, password in self.scram_users.items():
            scram += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
        subprocess.run(
            [
                *self._jvm(), "kafka.tools.StorageTool", "format", "--ignore-formatted",
                "--cluster-id", self.cluster_id,
                "--config", str(self.directory / "server.properties"), *scram,
            ],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip

    def start(self, timeout: float = 120) -> None:
        if not (self.directory / "data" / "meta.properties").exists():
            self.format()
        log = (self.directory / "kafka.log").open("ab")
        self.process = subprocess.Popen(
            [*self._jvm(), "kafka.Kafka", str(self.directory / "server.properties")],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    "private kafka exited:\n" + (self.directory / "kafka.log").read_text()[-3000:]
                )
            if _port_open(self.port) and self._ready():
                return
            time.sleep(0.5)
        raise AssertionError(f"private kafka on {self.port} not ready after {timeout}s")

    def _ready(self) -> bool:
        text = (self.directory / "kafka.log").read_text(errors="replace")
        return "Kafka Server started" in text.split("\n=====\n")[-1]

    def mark(self) -> None:
        with (self.directory / "kafka.log").open("a") as log:
            log.write("\n=====\n")

    def kill(self) -> None:
        _stop(self.process, signal.SIGKILL)
        self.process = None
        self.mark()

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)
        self.process = None
        self.mark()
