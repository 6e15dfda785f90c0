//! Meetings forwarded to a real chain: the real `linli` binary with its outbox worker, a real `bcos-devnode`, the
//! contract deployed by `linli chain deploy`. One voter, one sheet: the meeting is opened on chain, the sheet is
//! counted there with the receipt showing its transaction, and the meeting is finalized with the contract's tally
//! equal to the sheet.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use linli_tests::meeting::{close_meeting, committee, enroll_voters, my_receipt, open_meeting, submit_sheet, two_proposals, wait_for};
use linli_tests::world::World;

#[tokio::test]
async fn a_meeting_its_sheet_and_its_finalization_reach_the_chain() {
    let world = World::start_with_chain().await.unwrap();
    let chain = world.chain().unwrap();
    let voters = enroll_voters(&world, "o-chain-voter", 1).await.unwrap();
    let a = committee(&world, "o-chain-com-a").await.unwrap();
    let b = committee(&world, "o-chain-com-b").await.unwrap();
    let starts = chrono::Utc::now() + chrono::Duration::seconds(4);
    let ends = starts + chrono::Duration::seconds(6);
    let id = open_meeting(&world, &a, &b, "链上表决", two_proposals(), starts, ends).await.unwrap();

    let opened = wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(id).await.ok().filter(|m| m.exists && m.proposal_count == 2)) })
        .await
        .unwrap();
    assert_eq!((opened.sheet_count, opened.finalized), (0, false));

    tokio::time::sleep((starts - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    let answer = submit_sheet(&voters[0], id, &[0, 1], "chain-sheet-1", Duration::from_secs(20)).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.body);
    let area = answer.body["area_centi_m2"].as_i64().unwrap();
    assert!(area > 0);

    let receipt = wait_for(Duration::from_secs(20), || async {
        let r = my_receipt(&voters[0], id).await?;
        Ok((r["chain_status"] == "done").then_some(r))
    })
    .await
    .unwrap();
    assert_eq!(receipt["sheet_hash"], answer.body["sheet_hash"]);
    assert_eq!(receipt["tx_hash"].as_str().unwrap().len(), 66, "{receipt}");
    assert!(receipt["block_number"].as_i64().unwrap() > 0, "{receipt}");
    let on_chain = chain.sheet_of(id, voters[0].owner.account_id).await.unwrap();
    assert_eq!(on_chain.map(hex::encode).as_deref(), answer.body["sheet_hash"].as_str());
    let m = chain.meeting(id).await.unwrap();
    assert_eq!((m.sheet_count, m.participating_area_centi_m2, m.participating_heads), (1, area as u64, 1));
    // Proposal 0: yes; proposal 1: no.
    assert_eq!(chain.tally(id, 0).await.unwrap(), vec![(area as u64, 1), (0, 0), (0, 0)]);
    assert_eq!(chain.tally(id, 1).await.unwrap(), vec![(0, 0), (area as u64, 1), (0, 0)]);

    tokio::time::sleep((ends - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_millis(200)).await;
    close_meeting(&a, id).await.unwrap();
    wait_for(Duration::from_secs(20), || async { Ok(chain.meeting(id).await?.finalized.then_some(())) }).await.unwrap();
    let result = wait_for(Duration::from_secs(20), || async {
        let r = a.get(&format!("/v1/meetings/{id}/result")).await?;
        Ok(if r.status() == 200 { Some(r.json::<serde_json::Value>().await?) } else { None })
    })
    .await
    .unwrap();
    assert_eq!(result["document"]["chain_agrees"], true, "{result}");
    assert_eq!(result["document"]["sheets"], 1, "{result}");
}
