"""Apache Kafka as a process: jars from Maven Central, one KRaft node (broker and controller).

Secured as in production: clients authenticate with SASL/SCRAM-SHA-512 and the StandardAuthorizer
refuses whatever no ACL allows. The broker's own superuser is written into the storage when it is
formatted (SCRAM credentials live in the cluster metadata, so none can be added before it runs);
every other principal and its ACLs are applied afterwards by `deploy.access`. The controller
listener uses SASL/PLAIN with a password of its own: KRaft controllers cannot use SCRAM.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from services.runtime.kafka_access import KafkaAccess

from .processes import ManagedProcess, StartError, free_port, port_open
from .tools import cache_root, locked, require

KAFKA_VERSION = os.environ.get("MOTCUA_KAFKA_VERSION", "4.0.2")
SCALA_VERSION = "2.13"
LOG4J_VERSION = "2.24.3"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>motcua.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
"""

_READY_LINE = "Kafka Server started"

SUPERUSER = "admin"
"""The broker's superuser: the stack and the operator's access command use it, no service does."""
_CONTROLLER_USER = "controller"


def classpath(log: Path) -> tuple[str, float]:
    """The broker's classpath, resolved once into the cache; returns it and the seconds spent."""
    kafka_home = os.environ.get("KAFKA_HOME")
    if kafka_home:
        libs = Path(kafka_home) / "libs"
        if not libs.is_dir():
            raise StartError(f"KAFKA_HOME={kafka_home} has no libs/ folder")
        return f"{libs}/*", 0.0
    entry = cache_root() / f"kafka-{KAFKA_VERSION}"
    libs = entry / "libs"
    done = entry / ".complete"
    if done.exists():
        return f"{libs}/*", 0.0
    started = time.monotonic()
    with locked(entry):
        if not done.exists():
            mvn = require("mvn")
            (entry / "pom.xml").write_text(
                _POM.format(scala=SCALA_VERSION, kafka=KAFKA_VERSION, log4j=LOG4J_VERSION)
            )
            print(f"resolving Apache Kafka {KAFKA_VERSION} jars from Maven Central (first run only)",
                  flush=True)
            with log.open("ab") as out:
                result = subprocess.run(
                    [mvn, "-B", "-q", "-f", str(entry / "pom.xml"),
                     "dependency:copy-dependencies", "-DincludeScope=runtime",
                     f"-DoutputDirectory={libs}"],
                    stdout=out, stderr=subprocess.STDOUT, check=False,
                )
            if result.returncode != 0:
                raise StartError(f"mvn could not resolve the Kafka jars; see {log}")
            done.write_text(KAFKA_VERSION)
    return f"{libs}/*", time.monotonic() - started


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


@dataclass
class KafkaNode:
    """One combined broker+controller on loopback, its data and logs under `home`."""

    home: Path
    tie_to_parent: bool = True
    port: int = 0
    controller_port: int = 0
    process: ManagedProcess | None = None
    resolve_seconds: float = 0.0

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def secrets_file(self) -> Path:
        return self.home / "broker-secrets.json"

    @property
    def superuser_password(self) -> str:
        """Chosen once per data folder (kept across restarts, like the data it protects)."""
        return str(self._secrets()["superuser"])

    @property
    def admin_access(self) -> KafkaAccess:
        """This broker as its superuser."""
        return KafkaAccess(self.bootstrap_servers, SUPERUSER, self.superuser_password)

    def _secrets(self) -> dict[str, str]:
        if not self.secrets_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            chosen = {"superuser": secrets.token_urlsafe(24), "controller": secrets.token_urlsafe(24)}
            self.secrets_file.touch(mode=0o600)
            self.secrets_file.write_text(json.dumps(chosen))
        return dict(json.loads(self.secrets_file.read_text()))

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def prepare(self) -> None:
        """Resolve jars, choose ports, write the configuration and format the storage."""
        require("java")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._classpath, self.resolve_seconds = classpath(self.log_dir / "mvn.log")
        self.port = self.port or free_port()
        self.controller_port = self.controller_port or free_port()
        (self.home / "log4j2.properties").write_text(_LOG4J2)
        chosen = self._secrets()
        scram = (f'org.apache.kafka.common.security.scram.ScramLoginModule required '
                 f'username="{SUPERUSER}" password="{chosen["superuser"]}";')
        plain = (f'org.apache.kafka.common.security.plain.PlainLoginModule required '
                 f'username="{_CONTROLLER_USER}" password="{chosen["controller"]}" '
                 f'user_{_CONTROLLER_USER}="{chosen["controller"]}";')
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port},"
                         f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scram,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{SUPERUSER};User:{_CONTROLLER_USER}",
            # A rotated or removed credential stops working within the hour on open connections.
            "connections.max.reauth.ms": "3600000",
            "log.dirs": str(self.home / "data"),
            "num.partitions": "3",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
        }
        (self.home / "server.properties").write_text(
            "".join(f"{key}={value}\n" for key, value in props.items())
        )
        if not (self.home / "data" / "meta.properties").exists():
            result = subprocess.run(
                self._java("kafka.tools.StorageTool", "format", f"--cluster-id={_cluster_id()}",
                           f"--config={self.home / 'server.properties'}",
                           "--add-scram",
                           f"SCRAM-SHA-512=[name={SUPERUSER},password={chosen['superuser']}]"),
                capture_output=True, text=True, check=False,
            )
            if result.returncode != 0:
                (self.log_dir / "format.log").write_text(result.stdout + result.stderr)
                raise StartError(f"Kafka storage format failed; see {self.log_dir / 'format.log'}")

    def _java(self, main_class: str, *args: str) -> list[str]:
        return [
            require("java"), "-Xms256m", "-Xmx512m", "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.log_dir}",
            "-cp", self._classpath, main_class, *args,
        ]

    def start(self, timeout: float = 90.0) -> None:
        server_log = self.log_dir / "server.log"
        offset = server_log.stat().st_size if server_log.exists() else 0
        self.process = ManagedProcess(
            "kafka", self._java("kafka.Kafka", str(self.home / "server.properties")),
            self.log_dir / "kafka.out", tie_to_parent=self.tie_to_parent,
        )
        self.process.start()

        def ready() -> bool:
            if not server_log.exists():
                return False
            with server_log.open("rb") as handle:
                handle.seek(offset)
                started = _READY_LINE.encode() in handle.read()
            return started and port_open(self.port)

        self.process.wait_until(ready, timeout, f"ready on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30.0)
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process = None
