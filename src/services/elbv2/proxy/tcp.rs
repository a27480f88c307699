//! An NLB listener: each TCP connection goes to a target chosen round robin among the healthy
//! ones of its target group (all of them when none is healthy, as NLB fails open), and bytes
//! are copied both ways until either side closes.

use super::Proxy;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};

pub(super) async fn serve(proxy: Arc<Proxy>, arn: String, listener: TcpListener) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        let target = {
            let snapshot = proxy.snapshot.load();
            snapshot
                .listeners
                .iter()
                .find(|l| l.arn == arn)
                .and_then(|l| l.rules.last())
                .and_then(|r| r.action.pick())
                .and_then(|g| g.next())
        };
        let Some(target) = target else {
            // No target: the connection is reset, as an NLB does.
            continue;
        };
        tokio::spawn(async move {
            let _ = inbound.set_nodelay(true);
            match TcpStream::connect(target).await {
                Ok(mut outbound) => {
                    let _ = outbound.set_nodelay(true);
                    if let Err(e) = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await
                    {
                        tracing::debug!(%target, "tcp forwarding ended: {e}");
                    }
                }
                Err(e) => tracing::debug!(%target, "tcp target unreachable: {e}"),
            }
        });
    }
}
