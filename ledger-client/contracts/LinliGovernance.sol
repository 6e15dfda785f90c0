// SPDX-License-Identifier: AGPL-3.0-only
pragma solidity >=0.8.11 <0.9.0;

/// @title LinliGovernance: one deployment per community.
/// @notice Owners' meetings with area- and headcount-weighted ballot sheets (Civil Code art. 278),
/// maintenance-fund plans and disbursements, and anchoring of batch roots for the disclosure,
/// work-order and audit streams. Every refusal is a custom error; every change emits an event.
/// @dev Times are milliseconds: FISCO BCOS sets block.timestamp in ms. Areas are centi-m² (uint64),
/// headcounts persons (uint32), money fen (uint128). Thresholds use exact integer cross-multiplication.
contract LinliGovernance {
    // ---------------------------------------------------------------- roles

    /// Role numbers used by grantRole/roleOf. None (0) means "no role".
    uint8 public constant ROLE_NONE = 0;
    uint8 public constant ROLE_FORWARDER = 1;
    uint8 public constant ROLE_COMMITTEE = 2;
    uint8 public constant ROLE_PROPERTY = 3;
    uint8 public constant ROLE_BANK = 4;
    uint8 public constant ROLE_ANCHOR = 5;

    /// Every ballot line is one question with the same three options, owned by the contract, not by the text:
    /// a yes/no proposal is one line, an election one line per candidate.
    uint8 public constant OPTION_YES = 0;
    uint8 public constant OPTION_NO = 1;
    uint8 public constant OPTION_ABSTAIN = 2;
    uint8 public constant OPTIONS = 3;
    uint8 public constant MAX_PROPOSALS = 32;
    /// Ballot lines of a meeting, all proposals together (an election's mask of elected candidates is 32 bits).
    uint8 public constant MAX_LINES = 32;
    uint256 public constant MAX_STREAM_NAME_BYTES = 64;
    /// How far a sheet's stated submission time may lie ahead of the chain's clock: the clock skew we
    /// allow on signed requests (5 minutes), so a forwarder cannot date a sheet into the future.
    uint64 public constant MAX_CLOCK_SKEW_MS = 300_000;
    /// Bits of a meeting's `tallyRules` (the community's rules of procedure, frozen when the meeting opens):
    /// served-but-silent owners count as participating (never yes), and/or follow the voters' decision.
    uint8 public constant RULE_SILENT_PARTICIPATES = 1;
    uint8 public constant RULE_SILENT_FOLLOWS = 2;

    address public admin;
    mapping(address => uint8) public roleOf;

    // ---------------------------------------------------------------- meetings

    struct Meeting {
        bool exists;
        bool finalized;
        uint8 proposalCount;
        /// Ballot lines so far: a sheet carries one choice per line.
        uint8 lineCount;
        uint32 totalHeads;
        uint32 partHeads;
        uint64 totalAreaCm2;
        uint64 partAreaCm2;
        uint64 startMs;
        uint64 endMs;
        uint32 sheetCount;
        bytes32 rollHash;
        /// The meeting's rules let a voter replace their sheet until the window closes.
        bool voteChangeAllowed;
        /// How many sheets were replaced by a later sheet of the same voter.
        uint32 changeCount;
        /// RULE_* bits; 0 = the strict tally alone decides.
        uint8 tallyRules;
        /// The served-but-silent weight, recorded once after the window and before finalize (rule-set
        /// meetings only), with the root of the served-silent roll keys it sums.
        bool silentRecorded;
        uint64 silentAreaCm2;
        uint32 silentHeads;
        bytes32 servedSilentRoot;
        /// The frozen roll's keys as registered (addRollKeys): count, summed weight and the last (largest) key id;
        /// sheets are accepted once the registered weight equals the totals.
        uint32 rollKeyCount;
        uint64 rollAreaCm2;
        uint32 rollHeads;
        bytes32 lastRollKey;
        /// Sheets whose choices have been revealed after the window (revealSheet); finalize needs all of them.
        uint32 revealedCount;
        /// The signed result document's hash and the Ed25519 key that signed it (recordResult, after finalize).
        bytes32 resultHash;
        bytes32 resultSigningKey;
    }

    /// A key of the frozen roll (a headcount key: one person) with its weight and the voter whose current
    /// sheet covers it (zero while none does).
    struct RollKey {
        bool registered;
        uint64 areaCm2;
        uint32 heads;
        bytes32 coveredBy;
    }

    /// A yes/no proposal (seats = 0, one line) or an election (seats >= 1, one line per candidate).
    struct Proposal {
        uint8 matter;
        uint8 firstLine;
        uint8 lineCount;
        uint8 seats;
        bytes32 contentHash;
        /// Elections, once finalized: bit i = candidate i elected, resp. tied at the last seat (not elected).
        uint32 electedMask;
        uint32 tiedMask;
    }

    /// The decisions of one ballot line.
    struct Line {
        uint8 proposalIndex;
        /// The strict tally: the sheets alone.
        bool quorumMet;
        bool passed;
        /// The rule-set tally (meetings with tallyRules != 0): the sheets and the served-but-silent weight.
        bool ruleQuorumMet;
        bool rulePassed;
        /// The yes weight of the binding tally (ranks an election's candidates).
        uint64 bindingYesAreaCm2;
        uint32 bindingYesHeads;
    }

    struct Tally {
        uint64 areaCm2;
        uint32 heads;
    }

    mapping(bytes32 => Meeting) private meetings;
    mapping(bytes32 => mapping(uint8 => Proposal)) private proposals;
    mapping(bytes32 => mapping(uint8 => Line)) private lines;
    /// Per meeting, per line, per option.
    mapping(bytes32 => mapping(uint8 => mapping(uint8 => Tally))) private tallies;
    /// A voter's current sheet: while the window is open only a commitment to its choices is on chain;
    /// they are revealed (and counted) after the window closes.
    struct Sheet {
        bytes32 sheetHash;
        bytes32 commitment;
        uint64 areaCm2;
        uint32 heads;
        uint64 castAtMs;
        uint32 keyCount;
        bool revealed;
    }

    mapping(bytes32 => mapping(bytes32 => Sheet)) private sheetOfVoter;
    mapping(bytes32 => mapping(bytes32 => RollKey)) private rollKeys;

    // ---------------------------------------------------------------- funds

    struct FundPlan {
        bool exists;
        uint8 proposalIndex;
        bytes32 meetingId;
        bytes32 planHash;
        uint128 budgetFen;
        uint128 approvedFen;
        uint128 executedFen;
    }

    struct Disbursement {
        bool exists;
        bool executed;
        bytes32 planId;
        uint128 amountFen;
        bytes32 payeeHash;
        bytes32 evidenceHash;
        bytes32 bankRefHash;
    }

    mapping(bytes32 => FundPlan) private plans;
    mapping(bytes32 => mapping(uint8 => bytes32)) private planOfProposal;
    mapping(bytes32 => Disbursement) private disbursements;

    // ---------------------------------------------------------------- anchoring

    struct Batch {
        uint64 firstSeq;
        uint64 lastSeq;
        uint64 anchoredAtMs;
        bytes32 root;
    }

    mapping(bytes32 => Batch[]) private batches;
    mapping(bytes32 => uint64) private lastAnchoredSeq;

    // ---------------------------------------------------------------- events

    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);
    event RoleGranted(address indexed account, uint8 role);
    event RoleRevoked(address indexed account, uint8 role);
    event MeetingOpened(
        bytes32 indexed meetingId,
        bytes32 rollHash,
        uint64 totalAreaCm2,
        uint32 totalHeads,
        uint64 startMs,
        uint64 endMs,
        bool voteChangeAllowed,
        uint8 tallyRules
    );
    /// `candidates` = 0 for a yes/no proposal (one line), else an election of `seats` among that many
    /// candidates, lines firstLine .. firstLine + candidates - 1 in the order of the proposal's text.
    event ProposalAdded(
        bytes32 indexed meetingId,
        uint8 indexed proposalIndex,
        uint8 matter,
        bytes32 contentHash,
        uint8 candidates,
        uint8 seats,
        uint8 firstLine
    );
    /// Keys of the frozen roll registered for a meeting (ascending ids; the published roll's keys, see the
    /// server's `chain_roll_key`), with their weights.
    event RollKeysAdded(bytes32 indexed meetingId, bytes32[] keys, uint64[] areaCm2, uint32[] heads);
    /// `castAtMs` is the submission time the forwarder stated; the block's own time sits next to it, so an
    /// auditor sees how long each sheet waited between acknowledgement and the chain. The weight is the sum
    /// of the covered roll keys'; the choices stay behind `commitment` until the window has closed.
    event SheetCast(
        bytes32 indexed meetingId,
        bytes32 indexed voter,
        uint64 areaCm2,
        uint32 heads,
        bytes32[] keys,
        bytes32 commitment,
        bytes32 sheetHash,
        uint64 castAtMs
    );
    /// A voter replaced their sheet (meetings with voteChangeAllowed): same keys, a new commitment; only the
    /// current sheet is ever revealed and counted.
    event SheetChanged(
        bytes32 indexed meetingId,
        bytes32 indexed voter,
        bytes32 previousSheetHash,
        bytes32 sheetHash,
        bytes32 commitment,
        uint64 castAtMs
    );
    /// A current sheet's choices (one byte per ballot line), checked against its commitment and counted.
    event SheetRevealed(bytes32 indexed meetingId, bytes32 indexed voter, bytes32 sheetHash, bytes choices);
    /// The signed result document's SHA-256 and the Ed25519 public key that signed it.
    event ResultRecorded(bytes32 indexed meetingId, bytes32 resultHash, bytes32 signingKey);
    /// The strict tally of a ballot line.
    event LineDecided(
        bytes32 indexed meetingId,
        uint8 indexed line,
        bool quorumMet,
        bool passed,
        uint64 yesAreaCm2,
        uint32 yesHeads,
        uint64 partAreaCm2,
        uint32 partHeads
    );
    /// The rule-set tally of a ballot line (meetings with tallyRules != 0), which then binds; beside the strict one.
    event LineDecidedByRules(
        bytes32 indexed meetingId,
        uint8 indexed line,
        bool quorumMet,
        bool passed,
        uint64 yesAreaCm2,
        uint32 yesHeads,
        uint64 partAreaCm2,
        uint32 partHeads
    );
    /// An election's outcome under the binding tally: the passing candidates ranked by yes area, then yes heads;
    /// the top `seats` elected; candidates tied across the last seat are reported, none of them elected.
    event ElectionDecided(bytes32 indexed meetingId, uint8 indexed proposalIndex, uint32 electedMask, uint32 tiedMask);
    event ServedSilentRecorded(bytes32 indexed meetingId, uint64 areaCm2, uint32 heads, bytes32 servedSilentRoot);
    event MeetingFinalized(bytes32 indexed meetingId, uint64 partAreaCm2, uint32 partHeads, uint32 sheetCount);
    event FundPlanRegistered(
        bytes32 indexed planId, bytes32 indexed meetingId, uint8 proposalIndex, uint128 budgetFen, bytes32 planHash
    );
    event DisbursementApproved(
        bytes32 indexed disbursementId, bytes32 indexed planId, uint128 amountFen, bytes32 payeeHash, bytes32 evidenceHash
    );
    event DisbursementExecuted(bytes32 indexed disbursementId, bytes32 indexed planId, uint128 amountFen, bytes32 bankRefHash);
    event BatchAnchored(
        bytes32 indexed streamId, string stream, uint64 firstSeq, uint64 lastSeq, bytes32 root, uint256 batchIndex
    );

    // ---------------------------------------------------------------- errors

    error NotAdmin(address caller);
    error MissingRole(address caller, uint8 requiredRole);
    error InvalidRole(uint8 role);
    error ZeroAddress();
    error AccountAlreadyHasRole(address account, uint8 currentRole);
    error AccountIsAdmin(address account);
    error AccountHasNoRole(address account);

    error MeetingExists(bytes32 meetingId);
    error UnknownMeeting(bytes32 meetingId);
    error InvalidTotals();
    error InvalidWindow(uint64 startMs, uint64 endMs);
    error ProposalsClosed(bytes32 meetingId);
    error ProposalIndexMismatch(uint8 expected, uint8 given);
    error TooManyProposals();
    error InvalidMatter(uint8 matter);
    error InvalidSeats(uint8 candidates, uint8 seats);
    error TooManyLines();
    error ElectionNotFundable(bytes32 meetingId, uint8 proposalIndex);
    error UnknownProposal(bytes32 meetingId, uint8 proposalIndex);
    error UnknownLine(bytes32 meetingId, uint8 line);

    error VotingNotOpen(uint64 castAtMs, uint64 startMs, uint64 endMs);
    error CastInFuture(uint64 castAtMs, uint64 nowMs);
    error DuplicateVoter(bytes32 meetingId, bytes32 voter);
    error ChangeBeforePrevious(uint64 previousCastAtMs, uint64 castAtMs);
    error ChoiceCountMismatch(uint256 expected, uint256 given);
    error InvalidChoice(uint8 line, uint8 choice);
    error ZeroSheetHash();
    error NoProposals(bytes32 meetingId);
    error RollClosed(bytes32 meetingId);
    error RollKeysMismatch(uint256 keys, uint256 areas, uint256 heads);
    error RollKeyOrder(bytes32 previous, bytes32 given);
    error RollExceedsTotals(uint256 areaWouldBe, uint256 headsWouldBe);
    error RollIncomplete(uint64 rollAreaCm2, uint32 rollHeads);
    error NoKeys();
    error ZeroVoter();
    error KeyOrder(bytes32 previous, bytes32 given);
    error UnknownRollKey(bytes32 meetingId, bytes32 key);
    error KeyCovered(bytes32 key, bytes32 coveredBy);
    error ChangeKeysMismatch(uint32 keyCount, uint256 givenKeys);
    error ZeroCommitment();
    error RevealStarted(bytes32 meetingId);
    error UnknownSheet(bytes32 meetingId, bytes32 voter);
    error AlreadyRevealed(bytes32 meetingId, bytes32 voter);
    error CommitmentMismatch(bytes32 meetingId, bytes32 voter);
    error UnrevealedSheets(uint32 unrevealed);
    error ResultAlreadyRecorded(bytes32 meetingId);

    error InvalidTallyRules(uint8 tallyRules);
    error NoTallyRules(bytes32 meetingId);
    error ServedSilentAlreadyRecorded(bytes32 meetingId);
    error ServedSilentNotRecorded(bytes32 meetingId);
    error SilentExceedsRoll(uint256 areaWouldBe, uint256 headsWouldBe);

    error VotingNotEnded(uint64 nowMs, uint64 endMs);
    error AlreadyFinalized(bytes32 meetingId);
    error NotFinalized(bytes32 meetingId);

    error PlanExists(bytes32 planId);
    error UnknownPlan(bytes32 planId);
    error ProposalNotPassed(bytes32 meetingId, uint8 proposalIndex);
    error MatterNotFundable(uint8 matter);
    error ProposalAlreadyHasPlan(bytes32 meetingId, uint8 proposalIndex, bytes32 planId);
    error ZeroAmount();
    error DisbursementExists(bytes32 disbursementId);
    error UnknownDisbursement(bytes32 disbursementId);
    error OverBudget(uint128 requestedFen, uint128 remainingFen);
    error AlreadyExecuted(bytes32 disbursementId);
    error AmountMismatch(uint128 approvedFen, uint128 reportedFen);

    error InvalidStreamName();
    error InvalidRange(uint64 firstSeq, uint64 lastSeq);
    error SequenceGap(uint64 expectedFirst, uint64 givenFirst);
    error SequenceOverlap(uint64 expectedFirst, uint64 givenFirst);
    error ZeroRoot();
    error UnknownBatch(uint256 batchIndex);

    // ---------------------------------------------------------------- access

    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin(msg.sender);
        _;
    }

    modifier onlyRole(uint8 role) {
        if (roleOf[msg.sender] != role) revert MissingRole(msg.sender, role);
        _;
    }

    constructor() {
        admin = msg.sender;
        emit AdminTransferred(address(0), msg.sender);
    }

    /// Hands the admin key over; the new admin must hold no other role (one key, one role).
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress();
        if (roleOf[newAdmin] != ROLE_NONE) revert AccountAlreadyHasRole(newAdmin, roleOf[newAdmin]);
        emit AdminTransferred(admin, newAdmin);
        admin = newAdmin;
    }

    /// Grants `role` to `account`. An account holds at most one role and never together with admin.
    function grantRole(address account, uint8 role) external onlyAdmin {
        if (role == ROLE_NONE || role > ROLE_ANCHOR) revert InvalidRole(role);
        if (account == address(0)) revert ZeroAddress();
        if (account == admin) revert AccountIsAdmin(account);
        uint8 current = roleOf[account];
        if (current != ROLE_NONE) revert AccountAlreadyHasRole(account, current);
        roleOf[account] = role;
        emit RoleGranted(account, role);
    }

    function revokeRole(address account) external onlyAdmin {
        uint8 current = roleOf[account];
        if (current == ROLE_NONE) revert AccountHasNoRole(account);
        roleOf[account] = ROLE_NONE;
        emit RoleRevoked(account, current);
    }

    // ---------------------------------------------------------------- meetings

    /// Opens a meeting with the frozen roll's hash and totals; sheets submitted at
    /// startMs <= castAtMs < endMs count (see castSheet). Proposals can be added until startMs.
    /// With voteChangeAllowed a voter's later sheet replaces their earlier one (see castSheet).
    /// tallyRules (RULE_* bits) freezes the rules of procedure on the served-but-silent: with any bit set the
    /// rule-set tally binds (finalize, registerFundPlan); following the voters implies participating.
    function openMeeting(
        bytes32 meetingId,
        bytes32 rollHash,
        uint64 totalAreaCm2,
        uint32 totalHeads,
        uint64 startMs,
        uint64 endMs,
        bool voteChangeAllowed,
        uint8 tallyRules
    ) external onlyRole(ROLE_COMMITTEE) {
        if (meetings[meetingId].exists) revert MeetingExists(meetingId);
        if (totalAreaCm2 == 0 || totalHeads == 0) revert InvalidTotals();
        if (endMs <= startMs || startMs <= block.timestamp) revert InvalidWindow(startMs, endMs);
        if (tallyRules > (RULE_SILENT_PARTICIPATES | RULE_SILENT_FOLLOWS)) revert InvalidTallyRules(tallyRules);
        Meeting storage m = meetings[meetingId];
        m.exists = true;
        m.rollHash = rollHash;
        m.totalAreaCm2 = totalAreaCm2;
        m.totalHeads = totalHeads;
        m.startMs = startMs;
        m.endMs = endMs;
        m.voteChangeAllowed = voteChangeAllowed;
        m.tallyRules = tallyRules;
        emit MeetingOpened(meetingId, rollHash, totalAreaCm2, totalHeads, startMs, endMs, voteChangeAllowed, tallyRules);
    }

    /// Adds proposal number `proposalIndex` (0, 1, ... in order, so a re-delivered call is refused): a yes/no
    /// question (candidates = 0, seats = 0) or an election of `seats` among `candidates` (1 <= seats <= candidates),
    /// each candidate its own yes/no/abstain line. Yes is OPTION_YES; no and abstain count as participation only.
    function addProposal(
        bytes32 meetingId,
        uint8 proposalIndex,
        uint8 matter,
        bytes32 contentHash,
        uint8 candidates,
        uint8 seats
    ) external onlyRole(ROLE_COMMITTEE) {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        // Also closed once a sheet is counted: a sheet stated at startMs may arrive while the chain's clock is
        // still before it (within MAX_CLOCK_SKEW_MS), and every counted sheet must have a choice per proposal.
        if (block.timestamp >= m.startMs || m.sheetCount > 0) revert ProposalsClosed(meetingId);
        if (proposalIndex != m.proposalCount) revert ProposalIndexMismatch(m.proposalCount, proposalIndex);
        if (m.proposalCount >= MAX_PROPOSALS) revert TooManyProposals();
        if (matter < 1 || matter > 9) revert InvalidMatter(matter);
        if (candidates == 0 ? seats != 0 : (seats == 0 || seats > candidates)) revert InvalidSeats(candidates, seats);
        uint8 count = candidates == 0 ? 1 : candidates;
        if (uint256(m.lineCount) + count > MAX_LINES) revert TooManyLines();
        uint8 first = m.lineCount;
        proposals[meetingId][proposalIndex] = Proposal({
            matter: matter,
            firstLine: first,
            lineCount: count,
            seats: seats,
            contentHash: contentHash,
            electedMask: 0,
            tiedMask: 0
        });
        for (uint8 l = first; l < first + count; l++) {
            lines[meetingId][l].proposalIndex = proposalIndex;
        }
        m.lineCount = first + count;
        m.proposalCount = proposalIndex + 1;
        emit ProposalAdded(meetingId, proposalIndex, matter, contentHash, candidates, seats, first);
    }

    /// Registers keys of the frozen roll (the committee, after openMeeting and before startMs), in batches:
    /// key ids strictly ascending across all batches (so none twice), each with its area and headcount. The
    /// registered weight may not exceed the totals; sheets are accepted once it equals them. A sheet's weight is
    /// then the sum of the keys it covers, each covered by at most one voter: a forwarder cannot give one key's
    /// sheet two keys' weight or cast one key twice.
    function addRollKeys(
        bytes32 meetingId,
        bytes32[] calldata keys,
        uint64[] calldata areaCm2,
        uint32[] calldata heads
    ) external onlyRole(ROLE_COMMITTEE) {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (block.timestamp >= m.startMs || m.sheetCount > 0) revert RollClosed(meetingId);
        if (keys.length != areaCm2.length || keys.length != heads.length) {
            revert RollKeysMismatch(keys.length, areaCm2.length, heads.length);
        }
        uint256 area = m.rollAreaCm2;
        uint256 persons = m.rollHeads;
        bytes32 last = m.lastRollKey;
        for (uint256 i = 0; i < keys.length; i++) {
            // Strictly ascending from the zero id: no key twice, and the zero id (no key) never registered.
            if (keys[i] <= last) revert RollKeyOrder(last, keys[i]);
            last = keys[i];
            area += areaCm2[i];
            persons += heads[i];
            rollKeys[meetingId][keys[i]] = RollKey({registered: true, areaCm2: areaCm2[i], heads: heads[i], coveredBy: bytes32(0)});
        }
        if (area > m.totalAreaCm2 || persons > m.totalHeads) revert RollExceedsTotals(area, persons);
        m.rollAreaCm2 = uint64(area);
        m.rollHeads = uint32(persons);
        m.rollKeyCount += uint32(keys.length);
        m.lastRollKey = last;
        emit RollKeysAdded(meetingId, keys, areaCm2, heads);
    }

    /// Records one ballot sheet while the window is open: the roll keys it covers (ascending ids, each
    /// registered and not covered by another voter's sheet) and a commitment to its choices,
    /// `keccak256(meetingId ‖ voter ‖ sheetHash ‖ salt ‖ choices)` (choices one byte per ballot line), revealed by
    /// revealSheet after the window. The weight is the keys' sum.
    /// @param castAtMs When the server accepted the sheet (its receipt's submission time). The window is
    /// checked against this time, not the block's: the server acknowledges a sheet once it is stored and
    /// forwards it later, so a sheet acknowledged just before endMs may reach the chain after endMs (the
    /// chain down or slow at close) and must still count. The time may lie at most MAX_CLOCK_SKEW_MS ahead
    /// of the chain's clock, and no sheet is accepted once reveals have begun.
    /// A voter's second sheet is refused (DuplicateVoter) unless the meeting allows changes; then it replaces
    /// the first: the same keys, stated no earlier than the sheet it replaces.
    function castSheet(
        bytes32 meetingId,
        bytes32 voter,
        bytes32[] calldata keys,
        bytes32 commitment,
        bytes32 sheetHash,
        uint64 castAtMs
    ) external onlyRole(ROLE_FORWARDER) {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (castAtMs < m.startMs || castAtMs >= m.endMs) revert VotingNotOpen(castAtMs, m.startMs, m.endMs);
        if (castAtMs > block.timestamp + MAX_CLOCK_SKEW_MS) revert CastInFuture(castAtMs, uint64(block.timestamp));
        if (m.finalized) revert AlreadyFinalized(meetingId);
        // The silent weight was summed over the sheets counted until then; the forwarder queues it behind them.
        if (m.silentRecorded) revert ServedSilentAlreadyRecorded(meetingId);
        // Revealed choices must not be answered by a late sheet; the forwarder queues reveals behind every sheet.
        if (m.revealedCount > 0) revert RevealStarted(meetingId);
        if (m.proposalCount == 0) revert NoProposals(meetingId);
        if (m.rollAreaCm2 != m.totalAreaCm2 || m.rollHeads != m.totalHeads) revert RollIncomplete(m.rollAreaCm2, m.rollHeads);
        if (keys.length == 0) revert NoKeys();
        // A key's coveredBy of zero means "no sheet covers it": the zero voter's sheet would leave its keys free
        // for another sheet, counting their weight twice.
        if (voter == bytes32(0)) revert ZeroVoter();
        if (sheetHash == bytes32(0)) revert ZeroSheetHash();
        if (commitment == bytes32(0)) revert ZeroCommitment();
        Sheet storage sheet = sheetOfVoter[meetingId][voter];
        if (sheet.sheetHash != bytes32(0)) {
            // The same hash again is a re-delivery of the current sheet, never a change.
            if (!m.voteChangeAllowed || sheet.sheetHash == sheetHash) revert DuplicateVoter(meetingId, voter);
            changeSheet(meetingId, voter, sheet, keys, commitment, sheetHash, castAtMs);
            return;
        }
        (uint64 area, uint32 persons) = coverKeys(meetingId, voter, keys);
        m.partAreaCm2 += area;
        m.partHeads += persons;
        m.sheetCount += 1;
        sheet.sheetHash = sheetHash;
        sheet.commitment = commitment;
        sheet.areaCm2 = area;
        sheet.heads = persons;
        sheet.castAtMs = castAtMs;
        sheet.keyCount = uint32(keys.length);
        emit SheetCast(meetingId, voter, area, persons, keys, commitment, sheetHash, castAtMs);
    }

    /// Marks each key (ascending, registered, not yet covered) as covered by `voter`; returns their summed weight.
    function coverKeys(bytes32 meetingId, bytes32 voter, bytes32[] calldata keys) private returns (uint64 area, uint32 persons) {
        bytes32 last = bytes32(0);
        for (uint256 i = 0; i < keys.length; i++) {
            if (keys[i] <= last) revert KeyOrder(last, keys[i]);
            last = keys[i];
            RollKey storage k = rollKeys[meetingId][keys[i]];
            if (!k.registered) revert UnknownRollKey(meetingId, keys[i]);
            if (k.coveredBy != bytes32(0)) revert KeyCovered(keys[i], k.coveredBy);
            k.coveredBy = voter;
            // Distinct registered keys sum to at most the roll's totals, which fit the types.
            area += k.areaCm2;
            persons += k.heads;
        }
    }

    /// Replaces `sheet` (the voter's current one): the same keys (each covered by this voter, as many as
    /// before), a new commitment; participation and sheetCount stay as they are.
    function changeSheet(
        bytes32 meetingId,
        bytes32 voter,
        Sheet storage sheet,
        bytes32[] calldata keys,
        bytes32 commitment,
        bytes32 sheetHash,
        uint64 castAtMs
    ) private {
        if (keys.length != sheet.keyCount) revert ChangeKeysMismatch(sheet.keyCount, keys.length);
        bytes32 last = bytes32(0);
        for (uint256 i = 0; i < keys.length; i++) {
            if (keys[i] <= last) revert KeyOrder(last, keys[i]);
            last = keys[i];
            bytes32 holder = rollKeys[meetingId][keys[i]].coveredBy;
            if (holder != voter) revert KeyCovered(keys[i], holder);
        }
        if (castAtMs < sheet.castAtMs) revert ChangeBeforePrevious(sheet.castAtMs, castAtMs);
        bytes32 previousHash = sheet.sheetHash;
        sheet.sheetHash = sheetHash;
        sheet.commitment = commitment;
        sheet.castAtMs = castAtMs;
        meetings[meetingId].changeCount += 1;
        emit SheetChanged(meetingId, voter, previousHash, sheetHash, commitment, castAtMs);
    }

    /// Reveals and counts a current sheet's choices once the window has closed (only the forwarder, which keeps
    /// the salts; queued behind every sheet): one byte per ballot line, checked against the commitment, once.
    function revealSheet(bytes32 meetingId, bytes32 voter, bytes calldata choices, bytes32 salt)
        external
        onlyRole(ROLE_FORWARDER)
    {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (block.timestamp < m.endMs) revert VotingNotEnded(uint64(block.timestamp), m.endMs);
        if (m.finalized) revert AlreadyFinalized(meetingId);
        Sheet storage sheet = sheetOfVoter[meetingId][voter];
        if (sheet.sheetHash == bytes32(0)) revert UnknownSheet(meetingId, voter);
        if (sheet.revealed) revert AlreadyRevealed(meetingId, voter);
        if (keccak256(abi.encodePacked(meetingId, voter, sheet.sheetHash, salt, choices)) != sheet.commitment) {
            revert CommitmentMismatch(meetingId, voter);
        }
        if (choices.length != m.lineCount) revert ChoiceCountMismatch(m.lineCount, choices.length);
        for (uint8 i = 0; i < choices.length; i++) {
            uint8 choice = uint8(choices[i]);
            if (choice >= OPTIONS) revert InvalidChoice(i, choice);
            Tally storage t = tallies[meetingId][i][choice];
            t.areaCm2 += sheet.areaCm2;
            t.heads += sheet.heads;
        }
        sheet.revealed = true;
        m.revealedCount += 1;
        emit SheetRevealed(meetingId, voter, sheet.sheetHash, choices);
    }

    /// Records the weight of the roll keys that were served notice in time, had a designated caster and are
    /// covered by no sheet (meetings with tallyRules != 0), once, after the window and before finalize; then no
    /// further sheet is accepted. `servedSilentRoot` commits to the list of those keys, which the result
    /// document publishes. Only the forwarder: it queues this behind every sheet of the meeting.
    function recordServedSilent(bytes32 meetingId, uint64 areaCm2, uint32 heads, bytes32 servedSilentRoot)
        external
        onlyRole(ROLE_FORWARDER)
    {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (m.finalized) revert AlreadyFinalized(meetingId);
        if (m.tallyRules == 0) revert NoTallyRules(meetingId);
        if (m.silentRecorded) revert ServedSilentAlreadyRecorded(meetingId);
        if (block.timestamp < m.endMs) revert VotingNotEnded(uint64(block.timestamp), m.endMs);
        uint256 areaAfter = uint256(m.partAreaCm2) + areaCm2;
        uint256 headsAfter = uint256(m.partHeads) + heads;
        if (areaAfter > m.totalAreaCm2 || headsAfter > m.totalHeads) revert SilentExceedsRoll(areaAfter, headsAfter);
        m.silentRecorded = true;
        m.silentAreaCm2 = areaCm2;
        m.silentHeads = heads;
        m.servedSilentRoot = servedSilentRoot;
        emit ServedSilentRecorded(meetingId, areaCm2, heads, servedSilentRoot);
    }

    /// Decides every proposal once the window has closed; afterwards no sheet is accepted. Only the
    /// forwarder may call it: sheets acknowledged inside the window can arrive after endMs, and the server
    /// queues finalize behind every sheet of the community, so a third party finalizing at endMs would shut
    /// those sheets out. A rule-set meeting needs its served-but-silent weight recorded first.
    function finalize(bytes32 meetingId) external onlyRole(ROLE_FORWARDER) {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (m.finalized) revert AlreadyFinalized(meetingId);
        if (block.timestamp < m.endMs) revert VotingNotEnded(uint64(block.timestamp), m.endMs);
        if (m.tallyRules != 0 && !m.silentRecorded) revert ServedSilentNotRecorded(meetingId);
        if (m.revealedCount != m.sheetCount) revert UnrevealedSheets(m.sheetCount - m.revealedCount);
        m.finalized = true;
        for (uint8 l = 0; l < m.lineCount; l++) {
            decideLine(m, meetingId, l);
        }
        for (uint8 i = 0; i < m.proposalCount; i++) {
            if (proposals[meetingId][i].seats != 0) decideElection(m, meetingId, i);
        }
        emit MeetingFinalized(meetingId, m.partAreaCm2, m.partHeads, m.sheetCount);
    }

    /// Quorum: participants hold >= 2/3 of the area AND are >= 2/3 of the headcount.
    function quorumOf(Meeting storage m, uint256 partArea, uint256 partHeads) private view returns (bool) {
        return 3 * partArea >= 2 * uint256(m.totalAreaCm2) && 3 * partHeads >= 2 * uint256(m.totalHeads);
    }

    /// The matter's yes threshold over the participation, on area AND headcount.
    function thresholdMet(uint8 matter, uint256 yesArea, uint256 yesHeads, uint256 partArea, uint256 partHeads)
        private
        pure
        returns (bool)
    {
        if (matter >= 6 && matter <= 8) {
            // >= 3/4 ("以上" includes the bound).
            return 4 * yesArea >= 3 * partArea && 4 * yesHeads >= 3 * partHeads;
        }
        // > 1/2 ("过半数" is strict).
        return 2 * yesArea > partArea && 2 * yesHeads > partHeads;
    }

    function decideLine(Meeting storage m, bytes32 meetingId, uint8 l) private {
        Line storage line = lines[meetingId][l];
        uint8 matter = proposals[meetingId][line.proposalIndex].matter;
        Tally storage yes = tallies[meetingId][l][OPTION_YES];
        // The strict tally: the sheets alone.
        bool votersDecide = thresholdMet(matter, yes.areaCm2, yes.heads, m.partAreaCm2, m.partHeads);
        line.quorumMet = quorumOf(m, m.partAreaCm2, m.partHeads);
        line.passed = line.quorumMet && votersDecide;
        line.bindingYesAreaCm2 = yes.areaCm2;
        line.bindingYesHeads = yes.heads;
        emit LineDecided(meetingId, l, line.quorumMet, line.passed, yes.areaCm2, yes.heads, m.partAreaCm2, m.partHeads);
        if (m.tallyRules == 0) return;
        // The rule-set tally: the silent weight participates; where the silent follow, it joins yes exactly
        // when the returned sheets decide yes under the matter's own threshold (the quorum aside, since reaching
        // it is what the clause is for). distinct roll keys and recordServedSilent keep every sum within the totals.
        uint64 partArea = m.partAreaCm2 + m.silentAreaCm2;
        uint32 partHeads = m.partHeads + m.silentHeads;
        if (m.tallyRules & RULE_SILENT_FOLLOWS != 0 && votersDecide) {
            line.bindingYesAreaCm2 += m.silentAreaCm2;
            line.bindingYesHeads += m.silentHeads;
        }
        line.ruleQuorumMet = quorumOf(m, partArea, partHeads);
        line.rulePassed = line.ruleQuorumMet
            && thresholdMet(matter, line.bindingYesAreaCm2, line.bindingYesHeads, partArea, partHeads);
        emit LineDecidedByRules(
            meetingId, l, line.ruleQuorumMet, line.rulePassed, line.bindingYesAreaCm2, line.bindingYesHeads, partArea, partHeads
        );
    }

    /// Ranks an election's passing candidates (binding tally) by yes area, then yes heads: a candidate is
    /// elected when it and every candidate ranked with or above it fit into the seats; candidates tied across
    /// the last seat are reported tied and none of them is elected.
    function decideElection(Meeting storage m, bytes32 meetingId, uint8 proposalIndex) private {
        Proposal storage p = proposals[meetingId][proposalIndex];
        for (uint8 c = 0; c < p.lineCount; c++) {
            Line storage line = lines[meetingId][p.firstLine + c];
            if (!bindingLinePassed(m, line)) continue;
            uint256 above = 0;
            uint256 level = 0;
            for (uint8 d = 0; d < p.lineCount; d++) {
                Line storage other = lines[meetingId][p.firstLine + d];
                if (d == c || !bindingLinePassed(m, other)) continue;
                if (
                    other.bindingYesAreaCm2 > line.bindingYesAreaCm2
                        || (other.bindingYesAreaCm2 == line.bindingYesAreaCm2 && other.bindingYesHeads > line.bindingYesHeads)
                ) {
                    above++;
                } else if (other.bindingYesAreaCm2 == line.bindingYesAreaCm2 && other.bindingYesHeads == line.bindingYesHeads) {
                    level++;
                }
            }
            if (above + level < p.seats) {
                p.electedMask |= uint32(1) << c;
            } else if (above < p.seats) {
                p.tiedMask |= uint32(1) << c;
            }
        }
        emit ElectionDecided(meetingId, proposalIndex, p.electedMask, p.tiedMask);
    }

    function bindingLinePassed(Meeting storage m, Line storage line) private view returns (bool) {
        return m.tallyRules != 0 ? line.rulePassed : line.passed;
    }

    function getMeeting(bytes32 meetingId)
        external
        view
        returns (
            bool exists,
            bool finalized,
            bytes32 rollHash,
            uint64 totalAreaCm2,
            uint32 totalHeads,
            uint64 startMs,
            uint64 endMs,
            uint8 proposalCount,
            uint64 partAreaCm2,
            uint32 partHeads,
            uint32 sheetCount
        )
    {
        Meeting storage m = meetings[meetingId];
        return (
            m.exists,
            m.finalized,
            m.rollHash,
            m.totalAreaCm2,
            m.totalHeads,
            m.startMs,
            m.endMs,
            m.proposalCount,
            m.partAreaCm2,
            m.partHeads,
            m.sheetCount
        );
    }

    /// Whether the meeting lets voters replace their sheet, and how many sheets were replaced so far
    /// (apart from getMeeting, whose returns already fill the stack).
    function getVoteChanges(bytes32 meetingId) external view returns (bool voteChangeAllowed, uint32 changeCount) {
        Meeting storage m = meetings[meetingId];
        return (m.voteChangeAllowed, m.changeCount);
    }

    /// A proposal: its matter, text hash and ballot lines; for elections the seats and, once finalized, the
    /// elected and tied candidates (bit i = candidate i).
    function getProposal(bytes32 meetingId, uint8 proposalIndex)
        external
        view
        returns (
            uint8 matter,
            bytes32 contentHash,
            uint8 firstLine,
            uint8 lineCount,
            uint8 seats,
            uint32 electedMask,
            uint32 tiedMask
        )
    {
        if (proposalIndex >= meetings[meetingId].proposalCount) revert UnknownProposal(meetingId, proposalIndex);
        Proposal storage p = proposals[meetingId][proposalIndex];
        return (p.matter, p.contentHash, p.firstLine, p.lineCount, p.seats, p.electedMask, p.tiedMask);
    }

    /// Both tallies' decisions of a ballot line and the binding one; all false until finalized.
    function getLine(bytes32 meetingId, uint8 line)
        external
        view
        returns (
            uint8 proposalIndex,
            bool quorumMet,
            bool passed,
            bool ruleQuorumMet,
            bool rulePassed,
            bool bindingPassed,
            uint64 bindingYesAreaCm2,
            uint32 bindingYesHeads
        )
    {
        Meeting storage m = meetings[meetingId];
        if (line >= m.lineCount) revert UnknownLine(meetingId, line);
        Line storage l = lines[meetingId][line];
        return (
            l.proposalIndex,
            l.quorumMet,
            l.passed,
            l.ruleQuorumMet,
            l.rulePassed,
            bindingLinePassed(m, l),
            l.bindingYesAreaCm2,
            l.bindingYesHeads
        );
    }

    /// The meeting's frozen tally rules, its ballot lines and its recorded served-but-silent weight.
    function getServedSilent(bytes32 meetingId)
        external
        view
        returns (uint8 tallyRules, uint8 lineCount, bool recorded, uint64 areaCm2, uint32 heads, bytes32 servedSilentRoot)
    {
        Meeting storage m = meetings[meetingId];
        return (m.tallyRules, m.lineCount, m.silentRecorded, m.silentAreaCm2, m.silentHeads, m.servedSilentRoot);
    }

    /// Per-option sums of area and headcount of one ballot line (OPTION_YES, OPTION_NO, OPTION_ABSTAIN).
    function getTally(bytes32 meetingId, uint8 line)
        external
        view
        returns (uint64[] memory areaCm2, uint32[] memory heads)
    {
        if (line >= meetings[meetingId].lineCount) revert UnknownLine(meetingId, line);
        areaCm2 = new uint64[](OPTIONS);
        heads = new uint32[](OPTIONS);
        for (uint8 o = 0; o < OPTIONS; o++) {
            Tally storage t = tallies[meetingId][line][o];
            areaCm2[o] = t.areaCm2;
            heads[o] = t.heads;
        }
    }

    /// The hash of `voter`'s current sheet (the latest change, if any), or zero when the voter has not voted.
    function sheetOf(bytes32 meetingId, bytes32 voter) external view returns (bytes32) {
        return sheetOfVoter[meetingId][voter].sheetHash;
    }

    /// A voter's current sheet: its hash, commitment, weight, stated time, key count and whether it is revealed.
    function getSheet(bytes32 meetingId, bytes32 voter)
        external
        view
        returns (bytes32 sheetHash, bytes32 commitment, uint64 areaCm2, uint32 heads, uint64 castAtMs, uint32 keyCount, bool revealed)
    {
        Sheet storage s = sheetOfVoter[meetingId][voter];
        return (s.sheetHash, s.commitment, s.areaCm2, s.heads, s.castAtMs, s.keyCount, s.revealed);
    }

    /// A registered roll key's weight and the voter whose current sheet covers it (zero: none).
    function getRollKey(bytes32 meetingId, bytes32 key)
        external
        view
        returns (bool registered, uint64 areaCm2, uint32 heads, bytes32 coveredBy)
    {
        RollKey storage k = rollKeys[meetingId][key];
        return (k.registered, k.areaCm2, k.heads, k.coveredBy);
    }

    /// The registered roll (key count and weight), the revealed sheets so far, and the recorded result.
    function getRoll(bytes32 meetingId)
        external
        view
        returns (
            uint32 rollKeyCount,
            uint64 rollAreaCm2,
            uint32 rollHeads,
            uint32 revealedCount,
            bytes32 resultHash,
            bytes32 resultSigningKey
        )
    {
        Meeting storage m = meetings[meetingId];
        return (m.rollKeyCount, m.rollAreaCm2, m.rollHeads, m.revealedCount, m.resultHash, m.resultSigningKey);
    }

    /// Anchors the signed result document once the meeting is finalized: its SHA-256 and the Ed25519 public key
    /// that signed it, so a copy of the document can be checked against the chain and the key. Once.
    function recordResult(bytes32 meetingId, bytes32 resultHash, bytes32 signingKey) external onlyRole(ROLE_FORWARDER) {
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (!m.finalized) revert NotFinalized(meetingId);
        if (m.resultHash != bytes32(0)) revert ResultAlreadyRecorded(meetingId);
        if (resultHash == bytes32(0) || signingKey == bytes32(0)) revert ZeroRoot();
        m.resultHash = resultHash;
        m.resultSigningKey = signingKey;
        emit ResultRecorded(meetingId, resultHash, signingKey);
    }

    // ---------------------------------------------------------------- funds

    /// Registers the plan voted in a passed matter-5 (use) or matter-6 (raise) proposal, one plan per proposal.
    function registerFundPlan(
        bytes32 planId,
        bytes32 meetingId,
        uint8 proposalIndex,
        uint128 budgetFen,
        bytes32 planHash
    ) external onlyRole(ROLE_PROPERTY) {
        if (plans[planId].exists) revert PlanExists(planId);
        Meeting storage m = meetings[meetingId];
        if (!m.exists) revert UnknownMeeting(meetingId);
        if (proposalIndex >= m.proposalCount) revert UnknownProposal(meetingId, proposalIndex);
        if (!m.finalized) revert NotFinalized(meetingId);
        Proposal storage p = proposals[meetingId][proposalIndex];
        if (p.matter != 5 && p.matter != 6) revert MatterNotFundable(p.matter);
        if (p.seats != 0) revert ElectionNotFundable(meetingId, proposalIndex);
        // The tally that binds: the rule-set tally where the meeting's rules set a silent flag.
        if (!bindingLinePassed(m, lines[meetingId][p.firstLine])) revert ProposalNotPassed(meetingId, proposalIndex);
        bytes32 existing = planOfProposal[meetingId][proposalIndex];
        if (existing != bytes32(0)) revert ProposalAlreadyHasPlan(meetingId, proposalIndex, existing);
        if (budgetFen == 0) revert ZeroAmount();
        plans[planId] = FundPlan({
            exists: true,
            proposalIndex: proposalIndex,
            meetingId: meetingId,
            planHash: planHash,
            budgetFen: budgetFen,
            approvedFen: 0,
            executedFen: 0
        });
        planOfProposal[meetingId][proposalIndex] = planId;
        emit FundPlanRegistered(planId, meetingId, proposalIndex, budgetFen, planHash);
    }

    /// Committee approval of one disbursement against the plan's remaining budget.
    function approveDisbursement(
        bytes32 disbursementId,
        bytes32 planId,
        uint128 amountFen,
        bytes32 payeeHash,
        bytes32 evidenceHash
    ) external onlyRole(ROLE_COMMITTEE) {
        if (disbursements[disbursementId].exists) revert DisbursementExists(disbursementId);
        FundPlan storage plan = plans[planId];
        if (!plan.exists) revert UnknownPlan(planId);
        if (amountFen == 0) revert ZeroAmount();
        uint128 remaining = plan.budgetFen - plan.approvedFen;
        if (amountFen > remaining) revert OverBudget(amountFen, remaining);
        plan.approvedFen += amountFen;
        disbursements[disbursementId] = Disbursement({
            exists: true,
            executed: false,
            planId: planId,
            amountFen: amountFen,
            payeeHash: payeeHash,
            evidenceHash: evidenceHash,
            bankRefHash: bytes32(0)
        });
        emit DisbursementApproved(disbursementId, planId, amountFen, payeeHash, evidenceHash);
    }

    /// The bank reports the transfer of an approved disbursement; the amount must match the approval.
    function recordDisbursementExecution(bytes32 disbursementId, uint128 amountFen, bytes32 bankRefHash)
        external
        onlyRole(ROLE_BANK)
    {
        Disbursement storage d = disbursements[disbursementId];
        if (!d.exists) revert UnknownDisbursement(disbursementId);
        if (d.executed) revert AlreadyExecuted(disbursementId);
        if (amountFen != d.amountFen) revert AmountMismatch(d.amountFen, amountFen);
        d.executed = true;
        d.bankRefHash = bankRefHash;
        plans[d.planId].executedFen += amountFen;
        emit DisbursementExecuted(disbursementId, d.planId, amountFen, bankRefHash);
    }

    function getFundPlan(bytes32 planId)
        external
        view
        returns (
            bool exists,
            bytes32 meetingId,
            uint8 proposalIndex,
            bytes32 planHash,
            uint128 budgetFen,
            uint128 approvedFen,
            uint128 executedFen
        )
    {
        FundPlan storage p = plans[planId];
        return (p.exists, p.meetingId, p.proposalIndex, p.planHash, p.budgetFen, p.approvedFen, p.executedFen);
    }

    function getDisbursement(bytes32 disbursementId)
        external
        view
        returns (bool exists, bool executed, bytes32 planId, uint128 amountFen, bytes32 payeeHash, bytes32 bankRefHash)
    {
        Disbursement storage d = disbursements[disbursementId];
        return (d.exists, d.executed, d.planId, d.amountFen, d.payeeHash, d.bankRefHash);
    }

    // ---------------------------------------------------------------- anchoring

    /// Anchors the Merkle root of items firstSeq..lastSeq (inclusive) of `stream`. Sequence numbers
    /// start at 1 and batches must follow each other without gap or overlap.
    function anchorBatch(string calldata stream, uint64 firstSeq, uint64 lastSeq, bytes32 root)
        external
        onlyRole(ROLE_ANCHOR)
    {
        uint256 len = bytes(stream).length;
        if (len == 0 || len > MAX_STREAM_NAME_BYTES) revert InvalidStreamName();
        if (lastSeq < firstSeq) revert InvalidRange(firstSeq, lastSeq);
        if (root == bytes32(0)) revert ZeroRoot();
        bytes32 streamId = keccak256(bytes(stream));
        uint64 expected = lastAnchoredSeq[streamId] + 1;
        if (firstSeq > expected) revert SequenceGap(expected, firstSeq);
        if (firstSeq < expected) revert SequenceOverlap(expected, firstSeq);
        lastAnchoredSeq[streamId] = lastSeq;
        batches[streamId].push(
            Batch({firstSeq: firstSeq, lastSeq: lastSeq, anchoredAtMs: uint64(block.timestamp), root: root})
        );
        emit BatchAnchored(streamId, stream, firstSeq, lastSeq, root, batches[streamId].length - 1);
    }

    /// The last sequence number anchored for `stream` (0 when none).
    function lastSequence(string calldata stream) external view returns (uint64) {
        return lastAnchoredSeq[keccak256(bytes(stream))];
    }

    function batchCount(string calldata stream) external view returns (uint256) {
        return batches[keccak256(bytes(stream))].length;
    }

    function getBatch(string calldata stream, uint256 batchIndex)
        external
        view
        returns (uint64 firstSeq, uint64 lastSeq, uint64 anchoredAtMs, bytes32 root)
    {
        Batch[] storage list = batches[keccak256(bytes(stream))];
        if (batchIndex >= list.length) revert UnknownBatch(batchIndex);
        Batch storage b = list[batchIndex];
        return (b.firstSeq, b.lastSeq, b.anchoredAtMs, b.root);
    }
}
