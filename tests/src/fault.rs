//! The owners' meeting fault run (issue 6, Acceptance): enrolled owners send ballot sheets at a steady rate into
//! several open meetings while the server is SIGKILLed and restarted several times, the devnode is stopped for
//! a while, and the server's PostgreSQL sessions are cut (as a database restart ends them) and the database is
//! unreachable for a moment (through a [`Cutter`]); every client retries with the same Idempotency-Key until it
//! gets an answer. Afterwards every acknowledged sheet must be on chain exactly once (contract counts, tallies and
//! per-voter sheet hashes against the receipts; one done outbox row per sheet), nothing unacknowledged counted,
//! the outbox drained, and the receipts carrying the chain transaction hash and block. The outbox backlog gauge on /metrics must be > 0 while
//! the devnode is down and 0 after; no choice is on chain while voting. Finally every meeting is closed (the server
//! is SIGKILLed and the devnode stopped while the reveals are being forwarded), every acknowledged sheet is revealed
//! exactly once, the chain's tallies are the acknowledged choices, and each published result agrees with the chain.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use linli_server::schema::{ballot_sheets, chain_outbox};
use uuid::Uuid;

use crate::cutter::Cutter;
use crate::meeting::{Voter, close_meeting, committee, enroll_voters, my_receipt, open_meeting, published_result, submit_sheet, two_proposals, voter_persons, wait_for};
use crate::world::World;

#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// Enrolled voters (at most the demo register's 20 persons with faces).
    pub voters: usize,
    /// Meetings open at once; every voter casts one sheet in each.
    pub meetings: usize,
    pub sheets_per_second: f64,
    /// SIGKILLs of the server, spread evenly over the submission phase (each followed by a restart).
    pub server_kills: usize,
    /// How long the devnode is stopped; the outage starts a quarter into the submission phase.
    pub devnode_down: Duration,
    /// Cuts of every server session to PostgreSQL, spread over the submission phase.
    pub database_cuts: usize,
    /// How long PostgreSQL is unreachable (sessions cut, new ones refused), starting nine tenths into the phase
    /// (after the devnode's outage has begun and, in the short run, ended).
    pub database_down: Duration,
    /// Voting time left after the submission phase and the outage: room for the clients' retries around the
    /// kills. (The chain need not catch up inside the window: the contract checks each sheet's stated
    /// submission time, so a sheet reaching it after the end still counts.)
    pub window_margin: Duration,
}

impl FaultPlan {
    /// The long run's defaults, each overridable by an environment variable: LINLI_FAULT_VOTERS (20),
    /// LINLI_FAULT_MEETINGS (6), LINLI_FAULT_RATE (1 sheet/s), LINLI_FAULT_KILLS (4), LINLI_FAULT_DEVNODE_DOWN_SECS
    /// (60), LINLI_FAULT_DB_CUTS (4), LINLI_FAULT_DB_DOWN_SECS (10), LINLI_FAULT_MARGIN_SECS (30).
    pub fn long_from_env() -> Self {
        let var = |k: &str, d: f64| std::env::var(k).ok().and_then(|v| v.parse::<f64>().ok()).unwrap_or(d);
        Self {
            voters: var("LINLI_FAULT_VOTERS", 20.0) as usize,
            meetings: var("LINLI_FAULT_MEETINGS", 6.0) as usize,
            sheets_per_second: var("LINLI_FAULT_RATE", 1.0),
            server_kills: var("LINLI_FAULT_KILLS", 4.0) as usize,
            devnode_down: Duration::from_secs_f64(var("LINLI_FAULT_DEVNODE_DOWN_SECS", 60.0)),
            database_cuts: var("LINLI_FAULT_DB_CUTS", 4.0) as usize,
            database_down: Duration::from_secs_f64(var("LINLI_FAULT_DB_DOWN_SECS", 10.0)),
            window_margin: Duration::from_secs_f64(var("LINLI_FAULT_MARGIN_SECS", 30.0)),
        }
    }

    fn sheets(&self) -> usize {
        self.voters * self.meetings
    }

    fn submission_phase(&self) -> Duration {
        Duration::from_secs_f64(self.sheets() as f64 / self.sheets_per_second)
    }
}

/// What the run saw; printed by the callers.
#[derive(Debug, Default)]
pub struct FaultReport {
    pub voters: usize,
    pub meetings: usize,
    pub sheets_sent: usize,
    pub acknowledged: usize,
    /// Sheets whose final answer was a refusal (e.g. `voting_closed` after a long retry): must not be counted.
    pub refused: BTreeMap<String, usize>,
    /// Second sheets with a new key from voters who had already voted (must be 409 `already_voted`).
    pub duplicates_refused: usize,
    pub attempts: u64,
    pub max_attempts: u32,
    pub server_kills: usize,
    pub database_cuts: usize,
    pub database_down: Duration,
    pub backlog_while_devnode_down: i64,
    pub oldest_age_while_devnode_down: i64,
    pub drain_after_submissions: Duration,
    pub re_signed_rows: i64,
    pub total: Duration,
}

/// The acknowledged answer of one sheet.
#[derive(Debug, Clone)]
struct Acked {
    voter: usize,
    meeting: usize,
    sheet_id: Uuid,
    sheet_hash: String,
    area: u64,
    heads: u32,
    choices: Vec<u8>,
}

/// A deterministic spread of choices (yes / no / abstain) over voters and meetings.
fn choices_for(voter: usize, meeting: usize) -> Vec<u8> {
    vec![((voter + meeting) % 3) as u8, ((voter * 7 + meeting * 3 + 1) % 3) as u8]
}

/// Reads one gauge from the Prometheus text.
pub fn gauge(metrics: &str, name: &str) -> Option<i64> {
    metrics.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok().map(|v| v as i64))
}

pub async fn metrics_text(world: &World) -> anyhow::Result<String> {
    Ok(crate::client().get(world.url("/metrics")).send().await?.text().await?)
}

async fn open_rows(conn: &mut AsyncPgConnection) -> anyhow::Result<i64> {
    Ok(chain_outbox::table.filter(chain_outbox::status.eq_any(["pending", "sent"])).count().get_result(conn).await?)
}

pub async fn run(plan: &FaultPlan) -> anyhow::Result<FaultReport> {
    let began = Instant::now();
    let mut report = FaultReport::default();
    let mut world = World::start_with_chain().await?;
    // The server's database sessions go through a relay the run can cut (the harness's own checks connect directly).
    let (cutter, through) = Cutter::in_front_of(world.db.url()).await?;
    world.route_database_through(through).await?;
    let available = voter_persons(&world).await?.len();
    if available < plan.voters {
        eprintln!("fault run: the demo register offers {available} voters, not {}", plan.voters);
    }
    let plan = &FaultPlan { voters: plan.voters.min(available), ..plan.clone() };
    let voters = Arc::new(enroll_voters(&world, "o-fault", plan.voters).await?);
    (report.voters, report.meetings) = (plan.voters, plan.meetings);
    let a = committee(&world, "o-fault-com-a").await?;
    let b = committee(&world, "o-fault-com-b").await?;
    let phase = plan.submission_phase();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(3 + plan.meetings as i64);
    let window = phase + plan.devnode_down + plan.window_margin;
    let ends = starts + chrono::Duration::from_std(window)?;
    let mut meetings = Vec::with_capacity(plan.meetings);
    for i in 0..plan.meetings {
        meetings.push(open_meeting(&world, &a, &b, &format!("故障演练 {i}"), two_proposals(), starts, ends).await?);
    }
    let meetings = Arc::new(meetings);
    crate::meeting::until_voting_opens(starts).await;

    // Submitters: one task per sheet, started at a steady rate; every fourth voter also tries a second sheet with a
    // new key once acknowledged.
    let t0 = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / plan.sheets_per_second);
    let give_up = window + Duration::from_secs(120);
    let submitter = {
        let (voters, meetings) = (voters.clone(), meetings.clone());
        let (n_voters, n_meetings) = (plan.voters, plan.meetings);
        tokio::spawn(async move {
            let mut tasks = Vec::new();
            for k in 0..n_voters * n_meetings {
                tokio::time::sleep_until((t0 + interval * k as u32).into()).await;
                let (v, m) = (k % n_voters, (k / n_voters) % n_meetings);
                let (voters, meetings) = (voters.clone(), meetings.clone());
                tasks.push(tokio::spawn(async move {
                    let choices = choices_for(v, m);
                    let key = format!("fault-sheet-{m}-{v}");
                    let answer = submit_sheet(&voters[v], meetings[m], &choices, &key, give_up).await?;
                    let duplicate = if answer.status == 201 && v % 4 == 0 {
                        Some(submit_sheet(&voters[v], meetings[m], &choices, &format!("{key}-again"), give_up).await?)
                    } else {
                        None
                    };
                    anyhow::Ok((v, m, choices, answer, duplicate))
                }));
            }
            tasks
        })
    };

    // Faults on a schedule relative to t0.
    #[derive(Debug)]
    enum Fault {
        Kill,
        DevnodeStop,
        DevnodeStart,
        DatabaseCut,
        DatabaseDown,
        DatabaseUp,
    }
    let mut schedule: Vec<(Duration, Fault)> =
        (1..=plan.server_kills).map(|i| (phase.mul_f64(i as f64 / (plan.server_kills + 1) as f64), Fault::Kill)).collect();
    if !plan.devnode_down.is_zero() {
        schedule.push((phase / 4, Fault::DevnodeStop));
        schedule.push((phase / 4 + plan.devnode_down, Fault::DevnodeStart));
    }
    // Cuts spread over the first 70% of the phase (the outage of the database comes at 90%).
    for i in 0..plan.database_cuts {
        schedule.push((phase.mul_f64(0.7 * (i as f64 + 0.5) / plan.database_cuts as f64), Fault::DatabaseCut));
    }
    if !plan.database_down.is_zero() {
        schedule.push((phase.mul_f64(0.9), Fault::DatabaseDown));
        schedule.push((phase.mul_f64(0.9) + plan.database_down, Fault::DatabaseUp));
    }
    schedule.sort_by_key(|(at, _)| *at);
    for (at, fault) in schedule {
        tokio::time::sleep_until((t0 + at).into()).await;
        match fault {
            Fault::Kill => {
                world.kill_server()?;
                report.server_kills += 1;
                // Down for a moment, as a crashed instance is before its supervisor restarts it.
                tokio::time::sleep(Duration::from_millis(500)).await;
                world.restart_server().await?;
                eprintln!("fault run: server killed and restarted at {:?}", t0.elapsed());
            }
            Fault::DevnodeStop => {
                world.chain_mut()?.devnode.stop()?;
                eprintln!("fault run: devnode stopped at {:?}", t0.elapsed());
            }
            Fault::DevnodeStart => {
                // The gauge, just before the chain comes back: sheets acknowledged during the outage wait.
                let text = metrics_text(&world).await?;
                report.backlog_while_devnode_down = gauge(&text, "linli_chain_outbox_backlog").unwrap_or(-1);
                report.oldest_age_while_devnode_down = gauge(&text, "linli_chain_outbox_oldest_age_seconds").unwrap_or(-1);
                world.chain_mut()?.devnode.restart()?;
                eprintln!("fault run: devnode restarted at {:?}", t0.elapsed());
            }
            Fault::DatabaseCut => {
                cutter.cut();
                report.database_cuts += 1;
                eprintln!("fault run: database sessions cut at {:?}", t0.elapsed());
            }
            Fault::DatabaseDown => {
                cutter.set_down(true);
                eprintln!("fault run: database unreachable from {:?}", t0.elapsed());
            }
            Fault::DatabaseUp => {
                cutter.set_down(false);
                report.database_down = plan.database_down;
                eprintln!("fault run: database reachable again at {:?}", t0.elapsed());
            }
        }
    }

    let mut acked: Vec<Acked> = Vec::new();
    for task in submitter.await? {
        let (v, m, choices, answer, duplicate) = task.await??;
        report.sheets_sent += 1;
        report.attempts += u64::from(answer.attempts);
        report.max_attempts = report.max_attempts.max(answer.attempts);
        if answer.status == 201 {
            acked.push(Acked {
                voter: v,
                meeting: m,
                sheet_id: answer.body["sheet_id"].as_str().unwrap_or_default().parse()?,
                sheet_hash: answer.body["sheet_hash"].as_str().unwrap_or_default().to_owned(),
                area: answer.body["area_centi_m2"].as_u64().unwrap_or_default(),
                heads: answer.body["heads"].as_u64().unwrap_or_default() as u32,
                choices,
            });
        } else {
            let code = answer.body["code"].as_str().unwrap_or("?").to_owned();
            // The only acceptable refusal of a valid sheet: the window closed while its key was held by a request
            // the kill cut off.
            anyhow::ensure!(code == "voting_closed", "sheet {v}/{m} refused: {} {}", answer.status, answer.body);
            *report.refused.entry(code).or_default() += 1;
        }
        if let Some(d) = duplicate {
            anyhow::ensure!(
                d.status == 409 && d.body["code"] == "already_voted",
                "second sheet of {v}/{m}: {} {}",
                d.status,
                d.body
            );
            report.duplicates_refused += 1;
        }
    }
    report.acknowledged = acked.len();

    // The outbox drains.
    let submissions_done = Instant::now();
    let mut conn = AsyncPgConnection::establish(world.db.url()).await?;
    let drain_within = Duration::from_secs(120);
    let deadline = Instant::now() + drain_within;
    while open_rows(&mut conn).await? > 0 {
        anyhow::ensure!(Instant::now() < deadline, "the outbox did not drain within {drain_within:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    report.drain_after_submissions = submissions_done.elapsed();
    let failed: Vec<(i64, String, Option<String>)> = chain_outbox::table
        .filter(chain_outbox::status.ne("done"))
        .select((chain_outbox::id, chain_outbox::kind, chain_outbox::last_error))
        .load(&mut conn)
        .await?;
    anyhow::ensure!(failed.is_empty(), "outbox rows not done: {failed:?}");
    // The gauge follows (it is refreshed on each worker step).
    wait_for(Duration::from_secs(10), || async {
        Ok((gauge(&metrics_text(&world).await?, "linli_chain_outbox_backlog") == Some(0)).then_some(()))
    })
    .await?;

    check_chain_and_rows(&world, &mut conn, &voters, &meetings, &acked).await?;
    report.re_signed_rows = chain_outbox::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("jsonb_array_length(previous_hashes) > 0"))
        .count()
        .get_result(&mut conn)
        .await?;

    // Close every meeting: the reveals are queued behind the sheets. A SIGKILL while they are being forwarded and a
    // short chain outage must not lose or double one.
    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(300)).await;
    for &id in meetings.iter() {
        close_meeting(&a, id).await?;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    world.kill_server()?;
    report.server_kills += 1;
    world.chain_mut()?.devnode.stop()?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    world.restart_server().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    world.chain_mut()?.devnode.restart()?;
    eprintln!("fault run: server killed and devnode stopped during the reveals at {:?}", t0.elapsed());
    let chain = world.chain()?;
    for (m, &id) in meetings.iter().enumerate() {
        let expected = acked.iter().filter(|s| s.meeting == m).count();
        let result = published_result(&a, id, Duration::from_secs(90)).await?;
        anyhow::ensure!(result["document"]["chain_agrees"] == true, "meeting {m}: {result}");
        anyhow::ensure!(result["document"]["sheets"] == expected, "meeting {m}: {} sheets, {expected} acknowledged", result["document"]["sheets"]);
        anyhow::ensure!(chain.meeting(id).await?.finalized, "meeting {m} not finalized on chain");
    }
    check_revealed(&world, &mut conn, &meetings, &acked).await?;
    report.total = began.elapsed();
    Ok(report)
}

/// After the results: every acknowledged sheet revealed on chain exactly once (one done row each, none other) and
/// the chain's tallies are the acknowledged choices.
async fn check_revealed(world: &World, conn: &mut AsyncPgConnection, meetings: &[Uuid], acked: &[Acked]) -> anyhow::Result<()> {
    let chain = world.chain()?;
    for (m, &id) in meetings.iter().enumerate() {
        let mine: Vec<&Acked> = acked.iter().filter(|s| s.meeting == m).collect();
        for p in 0..2u8 {
            let mut expected = vec![(0u64, 0u32); 3];
            for s in &mine {
                let o = usize::from(s.choices[usize::from(p)]);
                expected[o] = (expected[o].0 + s.area, expected[o].1 + s.heads);
            }
            let tally = chain.tally(id, p).await?;
            anyhow::ensure!(tally == expected, "meeting {m} proposal {p}: chain {tally:?}, acknowledged {expected:?}");
        }
    }
    for s in acked {
        let rows: Vec<String> = chain_outbox::table
            .filter(chain_outbox::kind.eq("reveal_sheet"))
            .filter(chain_outbox::subject_id.eq(s.sheet_id))
            .select(chain_outbox::status)
            .load(conn)
            .await?;
        anyhow::ensure!(rows == ["done"], "sheet {}: reveal rows {rows:?}", s.sheet_id);
    }
    let reveal_rows: i64 = chain_outbox::table.filter(chain_outbox::kind.eq("reveal_sheet")).count().get_result(conn).await?;
    anyhow::ensure!(reveal_rows as usize == acked.len(), "{reveal_rows} reveal_sheet rows, {} acknowledged", acked.len());
    Ok(())
}

/// Every acknowledged sheet on chain exactly once, nothing else counted, no choice visible; rows and receipts agree.
async fn check_chain_and_rows(
    world: &World,
    conn: &mut AsyncPgConnection,
    voters: &[Voter],
    meetings: &[Uuid],
    acked: &[Acked],
) -> anyhow::Result<()> {
    let chain = world.chain()?;
    for (m, &id) in meetings.iter().enumerate() {
        let mine: Vec<&Acked> = acked.iter().filter(|s| s.meeting == m).collect();
        let on_chain = chain.meeting(id).await?;
        let (area, heads) = mine.iter().fold((0u64, 0u32), |(a, h), s| (a + s.area, h + s.heads));
        anyhow::ensure!(
            (on_chain.sheet_count as usize, on_chain.participating_area_centi_m2, on_chain.participating_heads)
                == (mine.len(), area, heads),
            "meeting {m}: chain {on_chain:?}, acknowledged {} sheets, area {area}, heads {heads}",
            mine.len()
        );
        // Sealed while voting: the chain counts the sheets' weight, never a choice.
        for p in 0..2u8 {
            let tally = chain.tally(id, p).await?;
            anyhow::ensure!(tally == vec![(0, 0); 3], "meeting {m} proposal {p}: choices on chain before the close: {tally:?}");
        }
        // Per voter: the chain holds exactly the acknowledged sheet, or nothing.
        for (v, voter) in voters.iter().enumerate() {
            let want = mine.iter().find(|s| s.voter == v).map(|s| s.sheet_hash.clone());
            let got = chain.sheet_of(id, voter.owner.account_id).await?.map(hex::encode);
            anyhow::ensure!(got == want, "meeting {m} voter {v}: chain {got:?}, acknowledged {want:?}");
        }
        // The server's rows: exactly the acknowledged sheets.
        let stored: BTreeSet<Uuid> =
            ballot_sheets::table.filter(ballot_sheets::meeting_id.eq(id)).select(ballot_sheets::id).load(conn).await?.into_iter().collect();
        let want: BTreeSet<Uuid> = mine.iter().map(|s| s.sheet_id).collect();
        anyhow::ensure!(stored == want, "meeting {m}: stored sheets differ from the acknowledged ones");
    }
    // One done outbox row per acknowledged sheet, and the receipt shows its transaction, which is on chain.
    for s in acked {
        type Row = (String, Option<Vec<u8>>, Option<i64>);
        let rows: Vec<Row> = chain_outbox::table
            .filter(chain_outbox::kind.eq("cast_sheet"))
            .filter(chain_outbox::subject_id.eq(s.sheet_id))
            .select((chain_outbox::status, chain_outbox::tx_hash, chain_outbox::block_number))
            .load(conn)
            .await?;
        let [(status, Some(hash), Some(block))] = rows.as_slice() else { anyhow::bail!("sheet {}: outbox rows {rows:?}", s.sheet_id) };
        anyhow::ensure!(status == "done", "sheet {}: outbox {status}", s.sheet_id);
        let receipt = my_receipt(&voters[s.voter], meetings[s.meeting]).await?;
        anyhow::ensure!(
            receipt["chain_status"] == "done"
                && receipt["tx_hash"].as_str() == Some(format!("0x{}", hex::encode(hash)).as_str())
                && receipt["block_number"].as_i64() == Some(*block),
            "sheet {}: receipt {receipt}",
            s.sheet_id
        );
        let hash: [u8; 32] = hash.as_slice().try_into()?;
        let on_chain = chain.client.rpc().get_transaction_receipt(&hash).await?;
        anyhow::ensure!(
            on_chain.as_ref().map(|r| (r.block_number, r.status)) == Some((*block, 0)),
            "sheet {}: chain receipt {on_chain:?}",
            s.sheet_id
        );
    }
    let sheet_rows: i64 = chain_outbox::table.filter(chain_outbox::kind.eq("cast_sheet")).count().get_result(conn).await?;
    anyhow::ensure!(sheet_rows as usize == acked.len(), "{sheet_rows} cast_sheet rows, {} acknowledged", acked.len());
    Ok(())
}
