//! The campaign sender inside `enishi serve`: starts scheduled campaigns when their time
//! comes and sends their email. Several servers on one PostgreSQL share the work (each
//! message is claimed by one of them). Idle while no SMTP server is configured
//! (`ENISHI_SMTP_URL` or `enishi settings --smtp-url`); the configuration is read again when
//! the sender has been idle for a while, so a setting made later takes effect, and after a
//! minute's pause when no message can go out as configured (a certificate that does not
//! verify, STARTTLS missing, a refused login). The send rate of each channel is read from the
//! settings every round and shared with every other sender of the database. A second thread
//! posts webhook messages and makes call-list campaigns' tasks, which need no SMTP server.
//! When it has no campaign email to send, the email sender also sends the assignees' daily
//! task digests (`enishi_campaigns::digests`) and the join page's confirmation emails
//! (`enishi_campaigns::joins`).

use crate::AppState;
use enishi_campaigns::email::configured;
use enishi_campaigns::sender::{SendOptions, Sender};
use enishi_campaigns::webhook::WebhookSender;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running sender; dropping it stops the thread after its current round.
pub struct CampaignWorker {
    stop: Arc<AtomicBool>,
}

impl Drop for CampaignWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Seconds between looks for work when there is none.
const IDLE: Duration = Duration::from_secs(2);
/// How long an idle sender keeps its configuration before reading it again.
const RECONFIGURE: Duration = Duration::from_secs(60);

fn pause(stop: &AtomicBool, d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200).min(d));
    }
}

/// Starts the campaign sender thread.
pub fn start(state: AppState) -> CampaignWorker {
    let stop = Arc::new(AtomicBool::new(false));
    start_other_channels(state.clone(), stop.clone());
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("campaigns".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let config = state.store.read(configured);
                let (smtp, from) = match config {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        pause(&flag, RECONFIGURE);
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "campaign email is not configured correctly");
                        pause(&flag, RECONFIGURE);
                        continue;
                    }
                };
                let ws = state.settings.get();
                let options = SendOptions::new(&from);
                let worker = options.worker.clone();
                let mut sender = Sender::new(&state.store, smtp.clone(), options, ws.clock, ws.currency);
                let mut idle_since = Instant::now();
                while !flag.load(Ordering::Relaxed) && idle_since.elapsed() < RECONFIGURE {
                    match sender.round() {
                        Ok(r) if r.claimed > 0 || r.settled > 0 => {
                            idle_since = Instant::now();
                            if r.failed > 0 || r.retried > 0 {
                                tracing::warn!(sent = r.sent, retried = r.retried, failed = r.failed, "campaign round");
                            }
                        }
                        Ok(_) => {
                            // Sign-up confirmations first: someone is waiting for theirs.
                            match enishi_campaigns::joins::deliver(&state.store, &smtp, &from, &worker) {
                                Ok(j) if j.claimed > 0 => {
                                    if j.failed > 0 {
                                        tracing::warn!(sent = j.sent, failed = j.failed, "sign-up confirmations");
                                    }
                                    continue;
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::error!(error = %e, "sign-up confirmations failed (tried again shortly)")
                                }
                            }
                            match enishi_campaigns::digests::deliver(&state.store, &smtp, &from, &worker, &ws.clock) {
                                Ok(d) if d.claimed > 0 => {
                                    if d.failed > 0 {
                                        tracing::warn!(sent = d.sent, failed = d.failed, "task digests");
                                    }
                                }
                                Ok(_) => pause(&flag, IDLE),
                                Err(e) => {
                                    tracing::error!(error = %e, "task digests failed (tried again shortly)");
                                    pause(&flag, Duration::from_secs(10));
                                }
                            }
                        }
                        Err(e @ enishi_campaigns::Error::Delivery(_)) => {
                            // The certificate, STARTTLS or the login: the messages wait, untried,
                            // and the configuration is read again after a while.
                            tracing::error!(error = %e, "campaign email cannot be sent as configured");
                            pause(&flag, RECONFIGURE);
                            break;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "campaign sending failed (tried again shortly)");
                            pause(&flag, Duration::from_secs(10));
                        }
                    }
                }
            }
        })
        .expect("start the campaign sender thread");
    CampaignWorker { stop }
}

/// Starts the thread of the webhook and call-list channels.
fn start_other_channels(state: AppState, flag: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("campaign-channels".into())
        .spawn(move || {
            let ws = state.settings.get();
            let mut webhooks = WebhookSender::new(&state.store, SendOptions::new(""), ws.clock, ws.currency);
            while !flag.load(Ordering::Relaxed) {
                let calls = state.store.write(enishi_campaigns::calls::create_due_tasks);
                match (webhooks.round(), calls) {
                    (Ok(r), Ok(made)) if r.claimed > 0 || made > 0 => {
                        if r.failed > 0 || r.retried > 0 {
                            tracing::warn!(sent = r.sent, retried = r.retried, failed = r.failed, "webhook round");
                        }
                    }
                    (Ok(_), Ok(_)) => pause(&flag, IDLE),
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::error!(error = %e, "webhook or call-list campaign failed (tried again shortly)");
                        pause(&flag, Duration::from_secs(10));
                    }
                }
            }
        })
        .expect("start the campaign channels thread");
}
