//! Where the store's connections go: one server, a Redis Cluster, or the master Sentinel names.
//!
//! The redis crate does the protocol work for all three (its `cluster` feature routes each
//! call to the master of its keys' slot and follows MOVED/ASK redirects and slot changes; its
//! `sentinel` feature asks the sentinels for the current master). This module only picks the
//! client from the URL's scheme and applies the store's timeout to every connection.

use crate::error::{Error, Result};
use redis::cluster::{ClusterClient, ClusterConnection};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{ConnectionLike, IntoConnectionInfo};
use std::sync::Mutex;
use std::time::Duration;

/// Scheme of a Redis Cluster URL: `redis+cluster://host:port,host:port/` (any nodes of the cluster).
pub const CLUSTER_SCHEME: &str = "redis+cluster://";
/// Scheme of a Sentinel URL: `redis+sentinel://host:port,host:port/<master name>[/<db>]`.
pub const SENTINEL_SCHEME: &str = "redis+sentinel://";

pub(super) enum Backend {
    Single(redis::Client),
    Cluster(ClusterClient),
    /// The sentinel client caches its sentinel connections, hence `&mut` and the lock.
    Sentinel(Mutex<SentinelClient>),
}

pub(super) enum Conn {
    Single(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

impl Conn {
    pub fn like(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Conn::Single(c) => c,
            Conn::Cluster(c) => c.as_mut(),
        }
    }
}

fn config(what: &str, url: &str, e: impl std::fmt::Display) -> Error {
    Error::Config(format!(
        "counter store URL `{}`: {what}{e}",
        crate::keys::truncate(&super::redact_password(url), 80)
    ))
}

/// `user:pass@h1:p1,h2:p2/rest` → (`user:pass@` or "", hosts, `rest`).
fn split_hosts<'a>(url: &str, after_scheme: &'a str) -> Result<(&'a str, Vec<&'a str>, &'a str)> {
    let (authority, rest) = after_scheme.split_once('/').unwrap_or((after_scheme, ""));
    let (userinfo, hosts) = match authority.rfind('@') {
        Some(at) => (&authority[..=at], &authority[at + 1..]),
        None => ("", authority),
    };
    let hosts: Vec<&str> = hosts.split(',').filter(|h| !h.is_empty()).collect();
    if hosts.is_empty() {
        return Err(config("", url, "names no host (expected host:port[,host:port...])"));
    }
    Ok((userinfo, hosts, rest))
}

impl Backend {
    /// The client for `url`; connects nothing yet.
    pub fn open(url: &str, timeout: Duration) -> Result<Backend> {
        if let Some(after) = url.strip_prefix(CLUSTER_SCHEME) {
            let (userinfo, hosts, rest) = split_hosts(url, after)?;
            if !rest.is_empty() {
                return Err(config("", url, "a cluster has no database number or path"));
            }
            let nodes: Vec<String> = hosts.iter().map(|h| format!("redis://{userinfo}{h}/")).collect();
            // Few, short retries: a master that is gone fails the call (closed) within about the
            // timeout instead of the crate's default 16 backed-off retries.
            let client = ClusterClient::builder(nodes)
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(100)
                .build()
                .map_err(|e| config("", url, e))?;
            return Ok(Backend::Cluster(client));
        }
        if let Some(after) = url.strip_prefix(SENTINEL_SCHEME) {
            let (userinfo, hosts, rest) = split_hosts(url, after)?;
            let (service, db) = rest.split_once('/').unwrap_or((rest, ""));
            if service.is_empty() {
                return Err(config("", url, "names no master (expected .../<master name>[/<db>])"));
            }
            // The credentials and database are the master's (sentinels are asked without them).
            let master = format!("redis://{userinfo}127.0.0.1/{}", db.trim_end_matches('/'));
            let info = master.into_connection_info().map_err(|e| config("", url, e))?;
            let node = SentinelNodeConnectionInfo::default().set_redis_connection_info(info.redis_settings().clone());
            let sentinels: Vec<String> = hosts.iter().map(|h| format!("redis://{h}/")).collect();
            let client = SentinelClient::build(sentinels, service.to_string(), Some(node), SentinelServerType::Master)
                .map_err(|e| config("", url, e))?;
            return Ok(Backend::Sentinel(Mutex::new(client)));
        }
        let client = redis::Client::open(url).map_err(|e| config("", url, e))?;
        Ok(Backend::Single(client))
    }

    /// Whether keys need hash tags (only a cluster spreads keys over servers).
    pub fn is_cluster(&self) -> bool {
        matches!(self, Backend::Cluster(_))
    }

    /// A new connection, with `timeout` on connect, reads and writes.
    pub fn connect(&self, timeout: Duration) -> redis::RedisResult<Conn> {
        let single = |client: &redis::Client| -> redis::RedisResult<Conn> {
            let c = client.get_connection_with_timeout(timeout)?;
            c.set_read_timeout(Some(timeout))?;
            c.set_write_timeout(Some(timeout))?;
            Ok(Conn::Single(c))
        };
        match self {
            Backend::Single(client) => single(client),
            Backend::Cluster(client) => {
                let c = client.get_connection()?;
                c.set_read_timeout(Some(timeout))?;
                c.set_write_timeout(Some(timeout))?;
                Ok(Conn::Cluster(Box::new(c)))
            }
            // Asked on every new connection: after a failover the old master's connections fail
            // (and are dropped), and the next one goes to the master the sentinels elected.
            Backend::Sentinel(s) => {
                let master = s.lock().unwrap_or_else(|p| p.into_inner()).get_client()?;
                single(&master)
            }
        }
    }
}
