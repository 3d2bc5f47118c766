//! A PostgreSQL cluster of a test's own, so that the test can stop and
//! start the server without disturbing the others: `initdb` in a temporary
//! directory, the server on a free 127.0.0.1 port. Run as the `postgres`
//! user when the test runs as root (PostgreSQL refuses root). Needs the
//! server's programs: `PG_BIN`, or Debian's `/usr/lib/postgresql/*/bin`, or
//! the `PATH`.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A cluster; stopped and deleted when dropped.
pub struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

/// The directory holding `initdb` and `pg_ctl`, if any.
fn bin_dir() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return has(&dir).then_some(dir);
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| has(dir))
        .collect();
    debian.sort();
    if let Some(dir) = debian.pop() {
        return Some(dir);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| has(dir))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl Cluster {
    /// A new cluster, started; `None` (after saying why on stderr) when the
    /// server's programs are not installed.
    pub fn start() -> Option<Self> {
        let Some(bin) = bin_dir() else {
            let _ = writeln!(
                std::io::stderr(),
                "note: no initdb/pg_ctl found (PG_BIN, /usr/lib/postgresql/*/bin, PATH): \
                 skipping the test that restarts a PostgreSQL server of its own"
            );
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("tower-webhook-pg-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).expect("cluster directory");
        let cluster = Self {
            bin,
            dir,
            port,
            as_postgres: is_root(),
        };
        if cluster.as_postgres {
            cluster.run(
                Command::new("chown").arg("postgres:postgres").arg(&cluster.dir),
                false,
            );
        }
        let data = cluster.dir.join("data");
        let initdb = cluster.bin.join("initdb");
        cluster.run(
            Command::new(initdb)
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "--no-sync"]),
            cluster.as_postgres,
        );
        cluster.server("start");
        Some(cluster)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (`pg_ctl stop -m fast`: connections are closed).
    pub fn stop(&self) {
        self.server("stop");
    }

    /// Starts the server again.
    pub fn restart(&self) {
        self.server("start");
    }

    fn server(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let mut command = Command::new(self.bin.join("pg_ctl"));
        command
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &options, "-w", "-t", "30"]);
        if action == "stop" {
            command.args(["-m", "fast"]);
        }
        command.arg(action);
        self.run(&mut command, self.as_postgres);
    }

    /// Runs `command`, as the `postgres` user if `as_postgres`; panics with
    /// its output if it fails.
    fn run(&self, command: &mut Command, as_postgres: bool) {
        let mut command = if as_postgres {
            let mut wrapped = Command::new("runuser");
            wrapped
                .args(["-u", "postgres", "--"])
                .arg(command.get_program())
                .args(command.get_args());
            wrapped
        } else {
            std::mem::replace(command, Command::new("true"))
        };
        let out = command.output().expect("running a PostgreSQL program");
        assert!(
            out.status.success(),
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut stop = Command::new(if self.as_postgres {
            "runuser".as_ref()
        } else {
            pg_ctl.as_os_str()
        });
        if self.as_postgres {
            stop.args(["-u", "postgres", "--"]).arg(&pg_ctl);
        }
        let _ = stop
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
