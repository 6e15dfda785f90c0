#!/usr/bin/env python3
"""Recount a finished owners' meeting from what is public: the published roll, the result document's per-key
flags, and the chain's events. Python 3 standard library only; no code of the server is used.

    audit/recount.py --roll roll.json --result result.json --rpc http://127.0.0.1:20200 [--group group0]

roll.json is `GET /v1/meetings/{id}/roll`; result.json is `GET /v1/meetings/{id}/result` (signed) or its
`document`. The script

1. recomputes the roll hash from the published roll (the exact text is in ROLL_HASH below) and checks it against
   the document and the chain's MeetingOpened event, with the roll totals;
2. fetches the receipt of every transaction the document lists (meeting set-up and roll registration, every sheet,
   every reveal, the served-silent record, finalize) and decodes the contract's events itself (topics: Keccak-256
   of the signatures below);
3. checks that the chain registered exactly the published roll's keys (id = sha256("linli-roll-key-v1\n" ‖ key))
   with their weights, each once;
4. takes the live sheets (the latest per voter) with the keys each covers on chain, checks that no key is covered
   twice, that each sheet's weight is its keys', that every live sheet was revealed once (and nothing else), and
   that each key's per-key flag names exactly the sheet that covers it on chain;
5. checks that the served-but-silent keys of the per-key flags sum to the weight the chain recorded, under the
   recorded root;
6. tallies the revealed choices of the live sheets itself, decides every ballot line under the strict and, where
   the rules set a flag, the rule-set tally (the silent follow the voters' decision under the matter's own
   threshold), ranks elections, and compares every figure and decision with the document;
7. given the signed form (`{"document", "signature", "anchor"}`), checks that the SHA-256 of the document's compact
   JSON (keys sorted) is the one the chain's ResultRecorded event holds, with the signature's Ed25519 key.

Exit status 0 when everything agrees, 1 with the differences listed otherwise.
"""

import argparse
import base64
import hashlib
import json
import sys
import urllib.request

TOPICS = {
    "MeetingOpened(bytes32,bytes32,uint64,uint32,uint64,uint64,bool,uint8)": "62e0dec36657f2d28498f23750e0c283fe3e7aeec4ec659faeb086f1c3e3016b",
    "ProposalAdded(bytes32,uint8,uint8,bytes32,uint8,uint8,uint8)": "52c368ec9b4e58f76e31adf4abaf58decee5b0bbf9ae81fd0a0cbe0df6ae656b",
    "RollKeysAdded(bytes32,bytes32[],uint64[],uint32[])": "c62928b5af1dd0b4d56df6a2e79fc84eda76010d04d9f1d4f8400a187e3105ab",
    "SheetCast(bytes32,bytes32,uint64,uint32,bytes32[],bytes32,bytes32,uint64)": "17c0d039665b523a690952ba0438a1f01e8b62db3ffe6e6f67c33433a5875ac2",
    "SheetChanged(bytes32,bytes32,bytes32,bytes32,bytes32,uint64)": "02fc81029dcfd4c0875239b99a954c695d83fe61f5528b00a59d9c788b6acdf1",
    "SheetRevealed(bytes32,bytes32,bytes32,bytes)": "be256606cc373d7d24d70e5ff10a04811f9af4b88d173544dd12ee1c4db4a30d",
    "ResultRecorded(bytes32,bytes32,bytes32)": "bc63537c9dccb0b1563dbcdf6cc1c79396d85542d979208e7617cf643f027a8c",
    "ServedSilentRecorded(bytes32,uint64,uint32,bytes32)": "a322b81606b00b102cadeb7ded290877c7eb723f2e0c860ef22f164eed923037",
    "MeetingFinalized(bytes32,uint64,uint32,uint32)": "90abbafaa8ff556ab04f6353946adde9275215c7ee18af819b626e02f6696f3c",
}
BY_TOPIC = {v: k.split("(")[0] for k, v in TOPICS.items()}

# "linli-roll-v1\n" then one line per entry, entries sorted by key (UTF-8 bytes):
# key TAB area TAB 1 TAB units LF, units "building/unit:area" joined by ",", sorted by (building, unit) compared
# as UTF-8 bytes, field by field (so building "1" comes before "1-P"); areas decimal centi-m².
ROLL_HASH = "linli-roll-v1"

YES, NO, ABSTAIN = 0, 1, 2


def roll_hash(entries):
    text = ROLL_HASH + "\n"
    for e in sorted(entries, key=lambda e: e["headcount_key"].encode()):
        units = sorted(e["units"], key=lambda u: (u["building"].encode(), u["unit"].encode()))
        joined = ",".join(f"{u['building']}/{u['unit']}:{u['area_centi_m2']}" for u in units)
        text += f"{e['headcount_key']}\t{e['area_centi_m2']}\t1\t{joined}\n"
    return hashlib.sha256(text.encode()).hexdigest()


def served_silent_root(keys):
    h = hashlib.sha256(b"linli-served-silent-v1")
    for k in sorted(keys, key=lambda k: k.encode()):
        b = k.encode()
        h.update(len(b).to_bytes(4, "big"))
        h.update(b)
    return h.hexdigest()


def rpc(url, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        answer = json.load(r)
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def words(data):
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data)
    return raw, [int.from_bytes(raw[i:i + 32], "big") for i in range(0, len(raw), 32)]


def word_array(raw, offset):
    n = int.from_bytes(raw[offset:offset + 32], "big")
    return [raw[offset + 32 * (i + 1):offset + 32 * (i + 2)] for i in range(n)]


def uint_array(raw, offset):
    return [int.from_bytes(w, "big") for w in word_array(raw, offset)]


def dyn_bytes(raw, offset):
    n = int.from_bytes(raw[offset:offset + 32], "big")
    return raw[offset + 32:offset + 32 + n]


def chain_roll_key(key):
    """The id a roll key has on chain: sha256("linli-roll-key-v1\\n" + key)."""
    return hashlib.sha256(b"linli-roll-key-v1\n" + key.encode()).hexdigest()


def decode(log):
    topics = [t[2:] if t.startswith("0x") else t for t in log["topics"]]
    name = BY_TOPIC.get(topics[0])
    if name is None:
        return None
    raw, w = words(log["data"])
    ev = {"event": name, "meeting": topics[1]}
    if name == "MeetingOpened":
        ev.update(roll_hash=raw[0:32].hex(), total_area=w[1], total_heads=w[2], start=w[3], end=w[4], vote_change=bool(w[5]), rules=w[6])
    elif name == "ProposalAdded":
        ev.update(index=int(topics[2], 16), matter=w[0], candidates=w[2], seats=w[3], first_line=w[4])
    elif name == "RollKeysAdded":
        ev.update(keys=[k.hex() for k in word_array(raw, w[0])], areas=uint_array(raw, w[1]), heads=uint_array(raw, w[2]))
    elif name == "SheetCast":
        ev.update(voter=topics[2], area=w[0], heads=w[1], keys=[k.hex() for k in word_array(raw, w[2])],
                  commitment=raw[96:128].hex(), sheet_hash=raw[128:160].hex(), at=w[5])
    elif name == "SheetChanged":
        ev.update(voter=topics[2], previous=raw[0:32].hex(), sheet_hash=raw[32:64].hex(), commitment=raw[64:96].hex(), at=w[3])
    elif name == "SheetRevealed":
        ev.update(voter=topics[2], sheet_hash=raw[0:32].hex(), choices=list(dyn_bytes(raw, w[1])))
    elif name == "ResultRecorded":
        ev.update(result_hash=raw[0:32].hex(), signing_key=raw[32:64])
    elif name == "ServedSilentRecorded":
        ev.update(area=w[0], heads=w[1], root=raw[64:96].hex())
    elif name == "MeetingFinalized":
        ev.update(part_area=w[0], part_heads=w[1], sheets=w[2])
    return ev


def quorum(part, total):
    return 3 * part[0] >= 2 * total[0] and 3 * part[1] >= 2 * total[1]


def threshold(matter, yes, part):
    if 6 <= matter <= 8:
        return 4 * yes[0] >= 3 * part[0] and 4 * yes[1] >= 3 * part[1]
    return 2 * yes[0] > part[0] and 2 * yes[1] > part[1]


def decide(matter, options, part, total):
    q = quorum(part, total)
    return {"options": options, "participation": part, "quorum": q, "passed": q and threshold(matter, options[YES], part)}


def elect(seats, lines):
    passing = [c for c, l in enumerate(lines) if l["binding"]["passed"]]
    yes = lambda c: tuple(lines[c]["binding"]["options"][YES])
    elected, tied = [], []
    for c in passing:
        above = sum(1 for d in passing if yes(d) > yes(c))
        level = sum(1 for d in passing if d != c and yes(d) == yes(c))
        if above + level < seats:
            elected.append(c)
        elif above < seats:
            tied.append(c)
    return elected, tied


def weight(w):
    return [w["area_centi_m2"], w["heads"]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--roll", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--rpc", required=True)
    ap.add_argument("--group", default="group0")
    a = ap.parse_args()
    roll = json.load(open(a.roll, encoding="utf-8"))
    signed = json.load(open(a.result, encoding="utf-8"))
    doc = signed.get("document", signed)
    problems = []

    def check(ok, what):
        if not ok:
            problems.append(what)

    # 1. The roll.
    mine = roll_hash(roll["entries"])
    total = [sum(e["area_centi_m2"] for e in roll["entries"]), len(roll["entries"])]
    check(mine == roll["roll_hash"] == doc["roll_hash"], f"roll hash: recomputed {mine}, published {roll['roll_hash']}, document {doc['roll_hash']}")
    check(total == [doc["roll_total_area_centi_m2"], doc["roll_total_heads"]], f"roll totals {total} vs document")

    # 2. The chain's events, from the transactions the document lists.
    hashes = [c["tx_hash"] for c in doc["chain"] if c["tx_hash"]] + doc.get("sheet_transactions", []) + doc.get("reveal_transactions", [])
    events = []
    for h in hashes:
        receipt = rpc(a.rpc, "getTransactionReceipt", [a.group, "", h, False])
        check(receipt["status"] == 0, f"transaction {h} has status {receipt['status']}")
        events += [e for e in map(decode, receipt["logEntries"]) if e and e["meeting"] == doc["chain_meeting_id"]]
    opened = [e for e in events if e["event"] == "MeetingOpened"]
    check(len(opened) == 1, f"{len(opened)} MeetingOpened events")
    if opened:
        o = opened[0]
        check(o["roll_hash"] == mine, f"chain roll hash {o['roll_hash']} vs recomputed {mine}")
        check([o["total_area"], o["total_heads"]] == total, "chain roll totals")
    rules = opened[0]["rules"] if opened else 0
    proposals = sorted((e for e in events if e["event"] == "ProposalAdded"), key=lambda e: e["index"])
    check([p["index"] for p in proposals] == list(range(len(doc["proposals"]))), "proposals on chain vs document")

    # 3. The roll the chain holds: exactly the published roll's keys with their weights, each once.
    registered = {}
    for e in events:
        if e["event"] == "RollKeysAdded":
            for k, area, heads in zip(e["keys"], e["areas"], e["heads"]):
                check(k not in registered, f"roll key {k} registered twice")
                registered[k] = [area, heads]
    published_keys = {chain_roll_key(e["headcount_key"]): [e["area_centi_m2"], 1] for e in roll["entries"]}
    check(registered == published_keys, f"the chain registered {len(registered)} roll keys, the published roll has {len(published_keys)} (or their weights differ)")

    # 4. Live sheets (the latest per voter), the keys each covers on chain, and their revealed choices.
    live = {}
    for e in events:
        if e["event"] == "SheetCast":
            check(e["voter"] not in live, f"voter {e['voter']} cast twice")
            live[e["voter"]] = dict(e, choices=None)
        elif e["event"] == "SheetChanged":
            prev = live.get(e["voter"])
            check(prev is not None and prev["sheet_hash"] == e["previous"], f"change of voter {e['voter']} without its sheet")
            if prev:
                live[e["voter"]] = dict(prev, sheet_hash=e["sheet_hash"], commitment=e["commitment"])
    for e in events:
        if e["event"] == "SheetRevealed":
            s = live.get(e["voter"])
            check(s is not None and s["sheet_hash"] == e["sheet_hash"], f"reveal of {e['sheet_hash']} is not a live sheet")
            if s:
                check(s["choices"] is None, f"sheet {s['sheet_hash']} revealed twice")
                s["choices"] = e["choices"]
    check(all(s["choices"] is not None for s in live.values()), "a live sheet was never revealed")
    cover = {}
    for s in live.values():
        check([s["area"], s["heads"]] == [sum(registered.get(k, [0, 0])[0] for k in s["keys"]), sum(registered.get(k, [0, 0])[1] for k in s["keys"])],
              f"sheet {s['sheet_hash']}: weight on chain vs its registered keys")
        for k in s["keys"]:
            check(k in registered, f"sheet {s['sheet_hash']} covers an unregistered key {k}")
            check(k not in cover, f"roll key {k} covered by two sheets")
            cover[k] = s["sheet_hash"]
    keys = doc.get("roll_keys", [])
    area_of = {e["headcount_key"]: e["area_centi_m2"] for e in roll["entries"]}
    check(sorted(k["key"] for k in keys) == sorted(area_of), "per-key flags do not list exactly the roll's keys")
    for k in keys:
        # The flag names the sheet that covers the key on chain, and no other.
        check(k["voted_by"] == cover.get(chain_roll_key(k["key"])), f"key {k['key']}: flagged as voted by {k['voted_by']}, the chain says {cover.get(chain_roll_key(k['key']))}")

    # 5. The served-but-silent.
    silent = [k["key"] for k in keys if k["silent"]]
    check(not any(k["silent"] and (k["voted_by"] or k["without_caster"] or not k["served"]) for k in keys), "a silent key voted, had no caster or was not served")
    silent_weight = [sum(area_of[k] for k in silent), len(silent)]
    recorded = [e for e in events if e["event"] == "ServedSilentRecorded"]
    if rules:
        check(len(recorded) == 1, f"{len(recorded)} ServedSilentRecorded events in a rule-set meeting")
        for r in recorded:
            check([r["area"], r["heads"]] == silent_weight, f"recorded silent weight {[r['area'], r['heads']]} vs the flagged keys {silent_weight}")
            check(r["root"] == served_silent_root(silent), "served-silent root")
    else:
        check(not recorded, "a strict meeting recorded a silent weight")

    # 6. The tally, from the revealed choices.
    lines = sum(max(p["candidates"], 1) for p in proposals)
    sums = [[[0, 0] for _ in range(3)] for _ in range(lines)]
    part = [0, 0]
    for s in live.values():
        if s["choices"] is None:
            continue
        check(len(s["choices"]) == lines, f"sheet {s['sheet_hash']} has {len(s['choices'])} choices for {lines} lines")
        part = [part[0] + s["area"], part[1] + s["heads"]]
        for line, c in enumerate(s["choices"][:lines]):
            sums[line][c] = [sums[line][c][0] + s["area"], sums[line][c][1] + s["heads"]]
    for p, published in zip(proposals, doc["proposals"]):
        decided = []
        for line in range(p["first_line"], p["first_line"] + max(p["candidates"], 1)):
            options = sums[line]
            strict = decide(p["matter"], options, part, total)
            result = {"strict": strict, "rule_set": None, "binding": strict}
            if rules:
                yes = list(options[YES])
                if rules & 2 and threshold(p["matter"], options[YES], part):
                    yes = [yes[0] + silent_weight[0], yes[1] + silent_weight[1]]
                rs = decide(p["matter"], [yes] + options[1:], [part[0] + silent_weight[0], part[1] + silent_weight[1]], total)
                result.update(rule_set=rs, binding=rs)
            decided.append(result)
        for i, (mine_line, theirs) in enumerate(zip(decided, published["lines"])):
            where = f"proposal {p['index']} line {i}"
            for name in ("strict", "rule_set"):
                m, t = mine_line[name], theirs[name]
                if m is None or t is None:
                    check(m is None and t is None, f"{where}: {name} present on one side only")
                    continue
                check([weight(w) for w in t["options"]] == m["options"], f"{where}: {name} options {m['options']} vs document")
                check(weight(t["participation"]) == m["participation"], f"{where}: {name} participation")
                check((t["quorum"], t["passed"]) == (m["quorum"], m["passed"]), f"{where}: {name} decision")
            check(theirs["passed"] == mine_line["binding"]["passed"], f"{where}: binding decision")
        if not p["candidates"]:
            check(published["passed"] == decided[0]["binding"]["passed"], f"proposal {p['index']}: decision")
        if p["candidates"]:
            elected, tied = elect(p["seats"], decided)
            check(published["passed"] == bool(elected), f"proposal {p['index']}: decision (a seat filled)")
            names = [l["candidate"] for l in published["lines"]]
            check(published["elected"] == [names[c] for c in elected], f"proposal {p['index']}: elected {elected}")
            check(published["tied"] == [names[c] for c in tied], f"proposal {p['index']}: tied {tied}")
        print(f"proposal {p['index']} (matter {p['matter']}): " + "; ".join(
            f"yes {d['binding']['options'][YES]} of {d['binding']['participation']} -> {'passed' if d['binding']['passed'] else 'not passed'}" for d in decided))
    check(doc["sheets"] == len(live), f"document counts {doc['sheets']} sheets, the listed transactions {len(live)}")
    # Every sheet the chain counted is among the listed transactions: its own totals say so.
    finalized = [e for e in events if e["event"] == "MeetingFinalized"]
    check(len(finalized) == 1, f"{len(finalized)} MeetingFinalized events")
    for f in finalized:
        check([f["part_area"], f["part_heads"], f["sheets"]] == part + [len(live)], f"chain totals {f} vs the listed sheets {part}, {len(live)}")
    # 7. The document itself: its SHA-256 and signing key are anchored on chain (given the signed form).
    anchor = signed.get("anchor") if "document" in signed else None
    if anchor is not None:
        compact = json.dumps(doc, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()
        digest = hashlib.sha256(compact).hexdigest()
        check(anchor.get("sha256") == digest, f"document sha256 {digest} vs anchor {anchor.get('sha256')}")
        recorded = []
        if anchor.get("tx_hash"):
            receipt = rpc(a.rpc, "getTransactionReceipt", [a.group, "", anchor["tx_hash"], False])
            recorded = [e for e in map(decode, receipt["logEntries"]) if e and e["event"] == "ResultRecorded" and e["meeting"] == doc["chain_meeting_id"]]
        check(len(recorded) == 1, f"{len(recorded)} ResultRecorded events for the anchor")
        for r in recorded:
            check(r["result_hash"] == digest, f"chain result hash {r['result_hash']} vs the document's {digest}")
            key = base64.b64decode(signed["signature"].split(":")[1])
            check(r["signing_key"] == key, "the chain's signing key is not the signature's")
        print(f"document sha256 {digest} anchored on chain")
    print(f"roll {total}, {len(live)} live sheets, participation {part}, served silent {silent_weight}")
    if problems:
        print("DISAGREES:", *problems, sep="\n  ")
        return 1
    print("AGREES: the recount from the roll, the per-key flags and the chain equals the document")
    return 0


if __name__ == "__main__":
    sys.exit(main())
