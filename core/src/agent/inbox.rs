//! Ops as the thread task sees them. Between turns it waits for input; during a
//! turn every wait (the model stream, a command, an approval, a backoff) goes
//! through `Inbox::run` or `Inbox::decision`, which keep taking ops meanwhile:
//! `Interrupt` and `Shutdown` end the wait, steers, queued input and approval
//! decisions are kept for the turn to pick up.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TryRecvError};

use crate::protocol::{ContextItem, Op, ReviewDecision};

/// The input of one turn.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TurnInput {
    pub(crate) text: String,
    pub(crate) context: Vec<ContextItem>,
}

/// What an idle thread is asked to do.
pub(crate) enum IdleOp {
    Input(TurnInput),
    Shutdown,
}

/// Why a wait inside a turn ended early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Interrupt,
    Shutdown,
}

pub(crate) struct Inbox {
    ops: mpsc::Receiver<Op>,
    queued: VecDeque<TurnInput>,
    steers: Vec<String>,
    decisions: HashMap<String, ReviewDecision>,
    shutdown: bool,
}

impl Inbox {
    pub(crate) fn new(ops: mpsc::Receiver<Op>) -> Inbox {
        Inbox {
            ops,
            queued: VecDeque::new(),
            steers: Vec::new(),
            decisions: HashMap::new(),
            shutdown: false,
        }
    }

    /// Wait for the next turn's input (input queued during the last turn first).
    pub(crate) async fn next_idle(&mut self) -> IdleOp {
        if self.shutdown {
            return IdleOp::Shutdown;
        }
        if let Some(input) = self.queued.pop_front() {
            return IdleOp::Input(input);
        }
        loop {
            match self.ops.recv().await {
                None | Some(Op::Shutdown) => {
                    self.shutdown = true;
                    return IdleOp::Shutdown;
                }
                Some(Op::UserInput { text, context }) => {
                    return IdleOp::Input(TurnInput { text, context })
                }
                Some(Op::Steer { text }) => {
                    return IdleOp::Input(TurnInput {
                        text,
                        context: Vec::new(),
                    })
                }
                Some(Op::Interrupt) => {}
                Some(Op::ApprovalDecision { id, .. }) => {
                    tracing::debug!(approval_id = %id, "approval decision with no turn waiting for it");
                }
            }
        }
    }

    /// Keep an op that arrived during a turn; `Some` when it ends the wait.
    fn take(&mut self, op: Option<Op>) -> Option<Stop> {
        match op {
            None | Some(Op::Shutdown) => {
                self.shutdown = true;
                Some(Stop::Shutdown)
            }
            Some(Op::Interrupt) => Some(Stop::Interrupt),
            Some(Op::UserInput { text, context }) => {
                self.queued.push_back(TurnInput { text, context });
                None
            }
            Some(Op::Steer { text }) => {
                self.steers.push(text);
                None
            }
            Some(Op::ApprovalDecision { id, decision }) => {
                self.decisions.insert(id, decision);
                None
            }
        }
    }

    /// Drive `work` to its end unless an interrupt or shutdown arrives first, in
    /// which case `work` is dropped (cancelling the stream or command it drives).
    pub(crate) async fn run<F: Future>(&mut self, work: F) -> Result<F::Output, Stop> {
        if self.shutdown {
            return Err(Stop::Shutdown);
        }
        tokio::pin!(work);
        loop {
            tokio::select! {
                // Ops first: an interrupt that is already there wins over output
                // that is also ready.
                biased;
                op = self.ops.recv() => {
                    if let Some(stop) = self.take(op) {
                        return Err(stop);
                    }
                }
                output = &mut work => return Ok(output),
            }
        }
    }

    /// Take the ops already submitted, without waiting.
    pub(crate) fn poll_ready(&mut self) -> Result<(), Stop> {
        loop {
            match self.ops.try_recv() {
                Ok(op) => {
                    if let Some(stop) = self.take(Some(op)) {
                        return Err(stop);
                    }
                }
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => {
                    self.shutdown = true;
                    return Err(Stop::Shutdown);
                }
            }
        }
    }

    /// The steers submitted since the last call.
    pub(crate) fn take_steers(&mut self) -> Vec<String> {
        std::mem::take(&mut self.steers)
    }

    /// Wait for the decision on approval `id`; `None` when `timeout` passes first.
    pub(crate) async fn decision(
        &mut self,
        id: &str,
        timeout: Duration,
    ) -> Result<Option<ReviewDecision>, Stop> {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            if let Some(decision) = self.decisions.remove(id) {
                return Ok(Some(decision));
            }
            if self.shutdown {
                return Err(Stop::Shutdown);
            }
            tokio::select! {
                biased;
                op = self.ops.recv() => {
                    if let Some(stop) = self.take(op) {
                        return Err(stop);
                    }
                }
                () = &mut deadline => return Ok(None),
            }
        }
    }

    /// Forget what belonged to the turn that just ended: its approval decisions
    /// and the steers that came too late for it (returned, so they can be reported).
    pub(crate) fn end_turn(&mut self) -> Vec<String> {
        self.decisions.clear();
        self.take_steers()
    }
}
