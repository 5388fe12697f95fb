//! Network cut-offs for `civitas chaos bank`, without privileges the user lacks.
//!
//! The bank runs itself again inside a user namespace of its own, where it is root, and a
//! network namespace of its own (`unshare --user --map-root-user --net`). There it makes a
//! bridge, `civitas0` at 10.77.0.254/24, and gives each validator a network namespace, held open
//! by a `sleep` process, joined to the bridge by a veth pair: validator `i` is 10.77.0.`i + 1`
//! on its `eth0`, and the bridge's end is `cv<i>`. A validator runs (and restarts) inside its
//! namespace through `nsenter --net`. Cutting one off takes its bridge end down: every packet
//! to or from it, its peers' and the clients', is lost until the link comes back up.
//!
//! Nothing here reaches outside: the namespaces have no route out, and all of them go away
//! with the processes in them.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Set in the environment of the bank run inside its namespaces.
const INSIDE: &str = "CIVITAS_CHAOS_NAMESPACES";
/// The bridge joining the validators' namespaces.
const BRIDGE: &str = "civitas0";
/// The validators' API and p2p ports (each validator has an address of its own).
const HTTP_PORT: u16 = 8080;
const P2P_PORT: u16 = 9000;

/// Whether this process is the bank run inside its namespaces.
pub(crate) fn inside() -> bool {
    std::env::var_os(INSIDE).is_some()
}

/// The command line prefix that runs a command in a new user namespace, where it is root, and
/// a new network namespace.
const OWN_NAMESPACES: [&str; 5] = ["unshare", "--user", "--map-root-user", "--net", "--"];

/// Why cut-offs cannot be made on this machine, if they cannot: tries, in a throwaway
/// namespace, what [`Links::new`] does.
pub(crate) fn unavailable() -> Option<String> {
    ip(
        &OWN_NAMESPACES.map(OsString::from),
        &["link add probe0 type bridge", "link add probe1 type veth peer name probe2"],
    )
    .err()
    .map(|e| format!("a user and network namespace with a bridge and a veth pair: {e:#}"))
}

/// Runs this command again (same arguments) inside a new user and network namespace, and
/// returns its exit code.
pub(crate) fn run_inside() -> anyhow::Result<u8> {
    let exe = std::env::current_exe().context("finding the civitas binary")?;
    let status = Command::new(OWN_NAMESPACES[0])
        .args(&OWN_NAMESPACES[1..])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(INSIDE, "1")
        .status()
        .context("running unshare (util-linux)")?;
    Ok(status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1))
}

/// The validators' links to the bridge, inside the bank's namespaces.
pub(crate) struct Links {
    /// One `sleep` per validator, holding its network namespace open.
    holders: Vec<Child>,
    /// Which links are cut now.
    cut: Vec<bool>,
}

impl Links {
    /// The bridge and a namespace per validator, each held for at most `hold`.
    pub(crate) fn new(validators: usize, hold: Duration) -> anyhow::Result<Links> {
        if !inside() {
            bail!("network cut-offs need the bank's own namespaces");
        }
        ip(&[], &["link set lo up", &format!("link add {BRIDGE} type bridge")])?;
        ip(&[], &[&format!("addr add 10.77.0.254/24 dev {BRIDGE}"), &format!("link set {BRIDGE} up")])?;
        let mut links = Links { holders: Vec::with_capacity(validators), cut: vec![false; validators] };
        let own = std::fs::read_link("/proc/self/ns/net").context("reading this process's network namespace")?;
        for i in 0..validators {
            let holder = Command::new("unshare")
                .args(["--net", "--", "sleep"])
                .arg(hold.as_secs().max(1).to_string())
                .stdin(Stdio::null())
                .spawn()
                .context("starting a network namespace's holder")?;
            let pid = holder.id();
            links.holders.push(holder);
            // The holder has its namespace once `unshare` has made it and run `sleep`.
            let deadline = Instant::now() + Duration::from_secs(5);
            while std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|ns| ns == own) {
                if Instant::now() > deadline {
                    bail!("validator {i}'s network namespace was not made within 5 s");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            ip(
                &[],
                &[
                    &format!("link add cv{i} type veth peer name eth0 netns {pid}"),
                    &format!("link set cv{i} master {BRIDGE} up"),
                ],
            )?;
            ip(
                &nsenter(pid),
                &["link set lo up", &format!("addr add {}/24 dev eth0", address(i)), "link set eth0 up"],
            )?;
        }
        Ok(links)
    }

    /// Validator `i`'s API and p2p addresses.
    pub(crate) fn addrs(&self, i: usize) -> (SocketAddr, SocketAddr) {
        (SocketAddr::new(address(i), HTTP_PORT), SocketAddr::new(address(i), P2P_PORT))
    }

    /// The command that runs a command line in validator `i`'s namespace.
    pub(crate) fn launcher(&self, i: usize) -> Vec<OsString> {
        nsenter(self.holders[i].id())
    }

    /// Cuts validator `i` off the network: its link goes down.
    pub(crate) fn cut(&mut self, i: usize) -> anyhow::Result<()> {
        ip(&[], &[&format!("link set cv{i} down")])?;
        self.cut[i] = true;
        Ok(())
    }

    /// Joins validator `i` to the network again.
    pub(crate) fn heal(&mut self, i: usize) -> anyhow::Result<()> {
        ip(&[], &[&format!("link set cv{i} up")])?;
        self.cut[i] = false;
        Ok(())
    }
}

impl Drop for Links {
    fn drop(&mut self) {
        for i in 0..self.cut.len() {
            if self.cut[i] {
                let _ = self.heal(i);
            }
        }
        for holder in &mut self.holders {
            let _ = holder.kill();
            let _ = holder.wait();
        }
    }
}

/// Validator `i`'s address on the bridge.
fn address(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 77, 0, u8::try_from(i + 1).unwrap_or(253)))
}

/// The command line prefix that runs a command in the network namespace of process `pid`.
fn nsenter(pid: u32) -> Vec<OsString> {
    ["nsenter", "--target", &pid.to_string(), "--net", "--"].map(OsString::from).to_vec()
}

/// Runs `ip -batch` with `commands` through the command line prefix `through` (empty: in this
/// process's namespaces).
fn ip(through: &[OsString], commands: &[&str]) -> anyhow::Result<()> {
    let mut command = match through.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg("ip");
            c
        }
        None => Command::new("ip"),
    };
    let program = through.first().map_or("ip (iproute2)".into(), |p| p.to_string_lossy());
    let mut child = command
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {program}"))?;
    child.stdin.take().context("ip's input")?.write_all(format!("{}\n", commands.join("\n")).as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("ip {}: {}", commands.join("; "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}
