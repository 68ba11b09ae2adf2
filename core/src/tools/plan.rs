//! `update_plan`: the model's running list of steps, parsed for the front end to
//! show.

use serde::{Deserialize, Serialize};

use super::{parse_arguments, ToolError};

/// One step of the model's plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    pub step: String,
    pub status: PlanStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Pending,
    InProgress,
    Completed,
}

#[derive(Deserialize)]
struct UpdatePlanParams {
    explanation: Option<String>,
    plan: Vec<PlanStep>,
}

/// Parse `{"explanation"?: "…", "plan": [{"step": "…", "status": "pending" |
/// "in_progress" | "completed"}]}`. A step needs text, and at most one step is in
/// progress.
pub fn parse_plan_args(arguments: &str) -> Result<(Option<String>, Vec<PlanStep>), ToolError> {
    let params: UpdatePlanParams = parse_arguments("update_plan", arguments)?;
    let mut plan = params.plan;
    for (index, step) in plan.iter_mut().enumerate() {
        step.step = step.step.trim().to_string();
        if step.step.is_empty() {
            return Err(ToolError::Respond(format!(
                "plan step {} has no text",
                index + 1
            )));
        }
    }
    let in_progress: Vec<String> = plan
        .iter()
        .enumerate()
        .filter(|(_, step)| step.status == PlanStatus::InProgress)
        .map(|(index, _)| (index + 1).to_string())
        .collect();
    if in_progress.len() > 1 {
        return Err(ToolError::Respond(format!(
            "steps {} are all in_progress: at most one step is in progress at a time",
            in_progress.join(", ")
        )));
    }
    let explanation = params
        .explanation
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty());
    Ok((explanation, plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(text: &str, status: PlanStatus) -> PlanStep {
        PlanStep {
            step: text.to_string(),
            status,
        }
    }

    #[test]
    fn tools_plan_parse_args() {
        type Expected = Result<(Option<String>, Vec<PlanStep>), String>;
        let cases: Vec<(&str, Expected)> = vec![
            (
                r#"{"explanation": "start", "plan": [
                    {"step": "read the code", "status": "completed"},
                    {"step": " fix the bug ", "status": "in_progress"},
                    {"step": "run the tests", "status": "pending"}]}"#,
                Ok((
                    Some("start".into()),
                    vec![
                        step("read the code", PlanStatus::Completed),
                        step("fix the bug", PlanStatus::InProgress),
                        step("run the tests", PlanStatus::Pending),
                    ],
                )),
            ),
            (r#"{"plan": []}"#, Ok((None, vec![]))),
            (
                r#"{"explanation": " ", "plan": [{"step": "a", "status": "pending"}]}"#,
                Ok((None, vec![step("a", PlanStatus::Pending)])),
            ),
            (
                r#"{"plan": [{"step": "a", "status": "in_progress"}, {"step": "b", "status": "in_progress"}]}"#,
                Err("steps 1, 2 are all in_progress: at most one step is in progress at a time".into()),
            ),
            (
                r#"{"plan": [{"step": "a", "status": "pending"}, {"step": "  ", "status": "pending"}]}"#,
                Err("plan step 2 has no text".into()),
            ),
            (
                r#"{"plan": [{"step": "a", "status": "done"}]}"#,
                Err("invalid update_plan arguments: unknown variant `done`, expected one of `pending`, `in_progress`, `completed` at line 1 column 40".into()),
            ),
            (
                "",
                Err("invalid update_plan arguments: missing field `plan` at line 1 column 2".into()),
            ),
        ];
        for (arguments, expected) in cases {
            let expected = expected.map_err(ToolError::Respond);
            assert_eq!(parse_plan_args(arguments), expected, "{arguments}");
        }
    }
}
