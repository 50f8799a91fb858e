//! Several replicas on one PostgreSQL database: every change is announced with `NOTIFY` on
//! [`CHANNEL`] in the transaction that makes it ([`crate::store::Store::notify`]); each replica listens
//! (sqlx's `PgListener`) and serves what the database holds, so a long poll on any replica wakes
//! when a change is made on any other.
//!
//! Payloads: `snapshot` (a policy publish, revocation, kill switch or replica start: re-read and
//! re-sign), `keys` (a managed key made or revoked), `approval:<id>` (a request asked or decided).
//!
//! Notifications are not durable: one sent while a listener is disconnected is lost. So after
//! every (re)connect the replica re-reads everything, and every [`RESYNC_EVERY`] it re-reads as a
//! safety net (the snapshot revision, the managed keys, the approvals changed lately); a change
//! is then at most that late even if a notification went missing. A dropped listener connection
//! is reconnected after [`RECONNECT_AFTER`].

use crate::state::{now_ms, App};
use crate::store::CHANNEL;
use sqlx::postgres::PgListener;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often a replica re-reads the database whatever it was told.
pub const RESYNC_EVERY: Duration = Duration::from_secs(5);

/// How long a replica waits before connecting its listener again.
pub const RECONNECT_AFTER: Duration = Duration::from_millis(250);

/// Starts following the other replicas' changes (PostgreSQL only; a no-op on SQLite). The task
/// holds the app weakly and ends when it is dropped or stops.
pub fn follow(app: &Arc<App>) {
    let Some(url) = app.store.url().map(str::to_string) else {
        return;
    };
    tokio::spawn(listen(Arc::downgrade(app), url));
}

async fn listen(weak: Weak<App>, url: String) {
    let mut since = now_ms();
    loop {
        let listener = async {
            let mut l = PgListener::connect(&url).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        }
        .await;
        let mut listener = match listener {
            Ok(l) => l,
            Err(e) => {
                eprintln!("replicas: cannot listen for changes (retrying): {e}");
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            }
        };
        // Anything may have changed while nobody listened.
        if !resync(&weak, &mut since, true).await {
            return;
        }
        let mut tick = tokio::time::interval(RESYNC_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut stopping = match weak.upgrade() {
            Some(app) => app.stopping.subscribe(),
            None => return,
        };
        loop {
            tokio::select! {
                n = listener.try_recv() => match n {
                    Ok(Some(n)) => {
                        if !handle(&weak, n.payload()).await {
                            return;
                        }
                    }
                    // The connection dropped; `try_recv` reconnects, and what was sent meanwhile is lost.
                    Ok(None) => {
                        if !resync(&weak, &mut since, true).await {
                            return;
                        }
                    }
                    Err(e) => {
                        eprintln!("replicas: the change listener failed (reconnecting): {e}");
                        break;
                    }
                },
                _ = tick.tick() => {
                    if !resync(&weak, &mut since, false).await {
                        return;
                    }
                }
                _ = stopped(&mut stopping) => return,
            }
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    while !*stopping.borrow_and_update() {
        if stopping.changed().await.is_err() {
            return;
        }
    }
}

/// Acts on one notification; `false` once the app is gone.
async fn handle(weak: &Weak<App>, payload: &str) -> bool {
    let Some(app) = weak.upgrade() else {
        return false;
    };
    let done = match payload {
        "snapshot" => app.refresh().await.map(|_| ()),
        "keys" => sync_keys(&app).await,
        p => match p.strip_prefix("approval:") {
            Some(id) => match app.store.approval(id).await {
                Ok(Some(e)) => {
                    app.lock().approvals.put(e);
                    app.approvals_changed.send_modify(|n| *n += 1);
                    Ok(())
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            },
            None => Ok(()),
        },
    };
    if let Err(e) = done {
        eprintln!("replicas: cannot apply the change `{payload}`: {e}");
    }
    true
}

/// Re-reads what other replicas may have changed: the served state, the managed keys, and the
/// approvals asked or decided since `since` (all of them when `full`). `false` once the app is gone.
async fn resync(weak: &Weak<App>, since: &mut i64, full: bool) -> bool {
    let Some(app) = weak.upgrade() else {
        return false;
    };
    let started = now_ms();
    if let Err(e) = app.refresh().await {
        eprintln!("replicas: cannot re-read the served state: {e}");
    }
    if let Err(e) = sync_keys(&app).await {
        eprintln!("replicas: cannot re-read the managed keys: {e}");
    }
    // A margin for transactions that were open when the last re-read began.
    let from = if full {
        0
    } else {
        *since - 2 * RESYNC_EVERY.as_millis() as i64
    };
    let found = if full {
        app.store.approvals().await
    } else {
        app.store.approvals_since(from).await
    };
    match found {
        Ok(entries) => {
            if !entries.is_empty() {
                let mut inner = app.lock();
                for e in entries {
                    inner.approvals.put(e);
                }
                drop(inner);
                app.approvals_changed.send_modify(|n| *n += 1);
            }
            *since = started;
        }
        Err(e) => eprintln!("replicas: cannot re-read approvals: {e}"),
    }
    true
}

/// Makes the managed keys accepted here exactly the live ones in the database.
async fn sync_keys(app: &App) -> Result<(), String> {
    let live = app.key_store.live().await.map_err(|e| format!("{e:?}"))?;
    let managed = live
        .into_iter()
        .filter(|(h, _)| !app.credentials.is_bootstrap(h))
        .collect();
    app.credentials.replace_managed(managed);
    Ok(())
}
