//! One thread's task: it owns the thread's state (`state::ThreadState`), waits
//! for ops between turns and runs each turn inside the task, reading ops through
//! the inbox at each point where the turn waits.

use tokio::sync::mpsc;

use super::hooks;
use super::inbox::{IdleOp, Inbox};
use super::state::ThreadState;
use super::turn;
use crate::hooks::SessionSource;
use crate::protocol::{Event, Op};

/// The thread's task: announce the thread, then run turns as input arrives until
/// `Op::Shutdown` or until every op sender is gone.
pub(crate) async fn run(mut state: ThreadState, ops: mpsc::Receiver<Op>, resumed: bool) {
    state
        .emit(Event::ThreadStarted {
            thread_id: state.id().clone(),
            resumed,
        })
        .await;
    let mut inbox = Inbox::new(ops);
    let source = if resumed {
        SessionSource::Resume
    } else {
        SessionSource::Startup
    };
    // A stop here (an interrupt, a shutdown) is the inbox's to remember; a
    // halt has no turn to end.
    if let Err(halt) = hooks::session_start(&mut state, &mut inbox, source).await {
        tracing::info!(?halt, "SessionStart hooks did not finish");
    }
    while let IdleOp::Input(input) = inbox.next_idle().await {
        let ended = turn::run_turn(&mut state, &mut inbox, input).await;
        if ended == turn::TurnEnd::Shutdown {
            break;
        }
    }
    tracing::info!(thread_id = %state.id(), "thread ended");
}
