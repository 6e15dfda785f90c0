//! The owners' meeting fault run (see `linli_tests::fault`). The short variant (one SIGKILL of the server, the
//! devnode down for 5 s) runs with the suite; the long one (several kills, the devnode down for a minute) is
//! `deploy/fault-meetings.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use linli_tests::fault::{FaultPlan, run};

#[tokio::test]
async fn acknowledged_sheets_reach_the_chain_exactly_once_through_a_kill_and_a_devnode_outage() {
    let plan = FaultPlan {
        voters: 10,
        meetings: 2,
        sheets_per_second: 2.0,
        server_kills: 1,
        devnode_down: Duration::from_secs(5),
        window_margin: Duration::from_secs(8),
    };
    let report = run(&plan).await.unwrap();
    eprintln!("{report:#?}");
    assert_eq!(report.sheets_sent, 20);
    assert!(report.backlog_while_devnode_down > 0, "{report:#?}");
    assert!(report.oldest_age_while_devnode_down > 0, "{report:#?}");
}

/// `deploy/fault-meetings.sh`: the long run, sized by `LINLI_FAULT_*` (see `FaultPlan::long_from_env`).
#[tokio::test]
#[ignore = "long fault run: deploy/fault-meetings.sh"]
async fn fault_run_long() {
    let plan = FaultPlan::long_from_env();
    eprintln!("fault run plan: {plan:?}");
    let report = run(&plan).await.unwrap();
    println!("fault run report: {report:#?}");
    assert!(report.server_kills == plan.server_kills);
    assert!(plan.devnode_down.is_zero() || report.backlog_while_devnode_down > 0, "{report:#?}");
}
