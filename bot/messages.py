"""Everything a Slack user reads, short enough to review in one sitting.

Multi-line copy lives in prompts/*.j2; Block Kit layout in bot/slack/blocks.py.
Each message says what happened and what to do next. `{ref}` matches the
`ref=` field of the log line written when something broke.
"""

LOOKING_UP = "Looking up “{query}”…"
NOT_ALLOWED = (
    "Only the SDRs and managers listed in Qualify's config can qualify leads. "
    "Ask whoever runs Qualify to add your user ID ({user_id}) to `team.sdrs`."
)
PICK_LEAD = "I found {count} leads matching “{query}”. Which one did you talk to?"
PICK_LEAD_MORE = (
    "More than {count} leads match “{query}”; here are the first {count}. If yours "
    "is not among them, run the command again with the email or the domain."
)
NO_MATCH_MODAL_TITLE = "New lead"
NO_MATCH_INTRO = (
    "No stored lead matches “{query}”. Tell me the company and I'll create the "
    "lead and start the interview."
)
MODAL_FAILED = (
    "No stored lead matches “{query}”, and Slack closed the window for the New "
    "lead form before it could open. Run the command again to get the form."
)
CHANGE_MODAL_FAILED = (
    "Slack closed the window for the form before it could open. Click *Change "
    "an answer* again."
)
STARTED = "I've started qualifying *{lead}* in our DM: {link}"
STARTED_NO_LINK = "I've started qualifying *{lead}* in our DM with you."
LEAD_TAKEN = (
    "{holder} is already qualifying *{lead}* (since {since}). "
    "Talk to them before starting another interview."
)
SDR_BUSY = (
    "You're in the middle of qualifying *{lead}*. Finish it in our DM, or type "
    "`{command} cancel` to drop it, then try again."
)
NOTHING_TO_CANCEL = "You have no interview open. Type `{command} <lead>` to start one."
CANCELLED = "Cancelled the interview for *{lead}*. Nothing was posted."
NOT_YOURS = "This interview is {owner}'s; only they can answer it."
CLOSED = "This interview is already {status}; nothing changed."
NOT_ASKED = "That question is no longer part of this interview; nothing changed."
NO_OPEN_INTERVIEW_DM = (
    "I'm not running an interview with you right now. Type `{command} <lead>` in any "
    "channel to start one."
)
REVIEW_PENDING_DM = (
    "All questions are answered. Use *Change an answer* on the review to edit a note "
    "or a level, or *Submit* to post the decision."
)
UNDERSTOOD = (
    "Here's what I understood:\n{lines}\nAccept it on the question, or pick "
    "another level."
)
FOLLOW_UP = "Saved as the note for *{criterion}*. {question}"
NOTES_NOT_USED = (
    "I'll need the lead first, so your call notes were not read. Once the "
    "interview starts, use *Paste call notes* on its first question."
)
NOTES_INTRO = (
    "Paste what you wrote during the call. I'll propose a level for every open "
    "question the notes speak to; you confirm each one."
)
FROM_NOTES = "From the call notes: "
NOTES_READ = "From your call notes I understood:\n{lines}"
NOTES_NOTHING = (
    "I couldn't read a level for any open question from those notes; they are "
    "not stored. Answer the questions as they come, or type what you heard."
)
NOTE_SAVED = "Saved as the note for *{criterion}*. Click a level when you're ready."
SUBMITTED_SQL = (
    "*{lead}* is a Sales Qualified Lead ({total}/{max_total}), handed to {ae}. {link}"
)
SUBMITTED_NURTURE = "*{lead}* goes to nurture ({total}/{max_total}). {link}"
POST_FAILED = (
    "The decision is saved, but I couldn't post to {channel} ({error}). "
    "Invite me to that channel or ask an admin to check `channels` in the config. "
    "Reference: {ref}."
)
DM_FAILED = (
    "The decision is saved, but I couldn't DM {user} ({error}). Reference: {ref}."
)
UNEXPECTED = (
    "Something went wrong on my side, and your answers so far are saved. Please try "
    "again; if it keeps happening, give this reference to whoever runs Qualify: {ref}."
)
LOST = (
    "I lost track of your last step when a worker process stopped. Please click "
    "or type it again; everything before it is saved. Reference: {ref}."
)
MODAL_COMPANY_LABEL = "Company"
MODAL_DOMAIN_LABEL = "Website domain"
MODAL_CHANGE_TITLE = "Change answers"
VIEW_POST = "View the post"
NOTE_TOO_LONG = (
    "This note is {length:,} characters, more than a form can hold; it is kept "
    "as it is. Type in our DM to add to it."
)
CLAIM_NOT_ALLOWED = (
    "Only the SDRs and managers listed in Qualify's config can claim MQLs. "
    "Ask whoever runs Qualify to add your user ID ({user_id}) to `team.sdrs`."
)
CLAIMED = (
    "*{lead}* is yours. Reach out while they're warm; after the call, type "
    "`{command} {query}` to qualify them."
)
ALREADY_CLAIMED = (
    "Already claimed by {owner} ({since}); *{lead}* stays with them. Talk to "
    "them if you know this lead."
)
CLAIM_CLOSED = "*{lead}* is no longer waiting in the queue; nothing changed."
MQL_GONE = (
    "I can't find this MQL any more (its lead may have been deleted); nothing changed."
)
MQL_WHY_SCORE = (
    "Engagement and fit both reached the MQL bar "
    "(engagement ≥ {min_engagement}, fit ≥ {min_fit})."
)
MQL_WHY_HAND_RAISER = (
    "Hand-raiser: a high-intent signal in the last {days} days, whatever the levels."
)
MQL_OPEN = "Reached the bar {since}. The first SDR to claim it owns it."
MQL_CLAIMED = ":white_check_mark: Claimed by {owner} · {since}"
INTENT_ALERT_ONE = (
    ":rotating_light: *{lead}*, your lead, is showing buying intent right now. "
    "Reach out now, while it's fresh."
)
INTENT_ALERT_MANY = (
    ":rotating_light: {count} of your leads are showing buying intent right now. "
    "Reach out now, while it's fresh."
)
INTENT_ALERT_NEXT = "After the call, type `{command} <email>` to qualify the lead."
# SLA clocks: what each clock asks of its owner, and the notices about it.
SLA_CLOCKS = {
    "first_touch": "first touch",
    "mql_claim": "MQL claim",
    "sql_meeting": "meeting booked",
    "handoff_answer": "handoff answer",
}
SLA_TASKS = {
    "first_touch": "reach out to them",
    "mql_claim": "claim them from the queue",
    "sql_meeting": "book their meeting with an AE",
    "handoff_answer": "accept or reject the handoff (its post in the handoff "
    "channel has the buttons)",
}
SLA_UPDATES = "{count} SLA updates for you:"
SLA_REMINDER = ":hourglass_flowing_sand: *{lead}*: {task} by {due}."
SLA_BREACH = ":red_circle: *{lead}*: the {clock} SLA ran out {due}. Owner: {owner}."
SLA_NO_OWNER = "nobody"
SLA_REASSIGNED_TO = (
    ":arrows_counterclockwise: *{lead}* is yours now: the {clock} SLA of {owner} "
    "ran out {due}. Please {task}."
)
SLA_REASSIGNED_UNOWNED = (
    ":arrows_counterclockwise: *{lead}* is yours now: nobody took them before "
    "the {clock} SLA ran out {due}. Please {task}."
)
SLA_REASSIGNED_AWAY = (
    ":arrows_counterclockwise: *{lead}* went to {new_owner}: your {clock} SLA "
    "ran out {due}. Nothing more to do for it."
)
SLA_SUMMARY = "{count} SLA updates: {leads}"
# The outbox worker's one report per target and error, to channels.sla.
OUTBOX_FAILED = (
    ":warning: I could not post to {where}: Slack answered `{error}`. {fix} "
    "Messages to it are not retried, and this is the only report of it."
)
OUTBOX_FIXES = {
    "channel_not_found": (
        "Check the channel ID in the config; for a private channel, invite "
        "@Qualify first."
    ),
    "not_in_channel": "Invite @Qualify to it with `/invite @Qualify`.",
    "is_archived": "Unarchive it, or point the config at another channel.",
    "account_inactive": "The account is deactivated; update the team in the config.",
    "user_not_found": "Check the user ID in the config.",
    "user_disabled": "The account is deactivated; update the team in the config.",
}
OUTBOX_FIX_OTHER = (
    "Look the error up at https://api.slack.com/methods/chat.postMessage."
)
# The AE's answer to a handoff.
HANDOFF_ACCEPTED_LINE = ":white_check_mark: Accepted by {user} · {at}"
HANDOFF_REJECTED_LINE = (
    ":leftwards_arrow_with_hook: Rejected by {user} · {at}: *{reason}*"
)
HANDOFF_REASSIGNED_LINE = (
    ":arrows_counterclockwise: Moved from {from_ae} to {to_ae} by {user} · {at}"
)
HANDOFF_MEETING_LINE = ":calendar: Meeting booked for {day} by {user} · {at}"
HANDOFF_NOT_YOURS = "This handoff is {ae}'s; only they or a manager can answer it."
HANDOFF_ALREADY = "This handoff is already {status}; nothing changed."
HANDOFF_STATUS = {
    "pending": "waiting for an answer",
    "accepted": "accepted",
    "rejected": "rejected",
    "meeting_booked": "done: the meeting is booked",
}
HANDOFF_GONE = (
    "I can't find this handoff any more (its lead may have been deleted); "
    "nothing changed."
)
HANDOFF_MODAL_FAILED = (
    "Slack closed the window for the form before it could open. Click the button again."
)
ACCEPTED_REPLY = (
    "Accepted: *{lead}* is {ae}'s. I've told {sdr}; click *Meeting booked* once "
    "the meeting is in the calendar."
)
ACCEPTED_SDR = "{ae} accepted *{lead}*."
REJECTED_REPLY = "*{lead}* went back to {sdr} and to nurture."
REJECTED_SDR = (
    "{ae} sent *{lead}* back to you: *{reason}*.{note} It's in nurture now; "
    "requalify it with `{command} {query}` when things change."
)
HANDOFF_RETURNED_POST = "Returned by {ae}: *{reason}* · SDR {sdr}"
REASSIGNED_REPLY = "*{lead}* is with {ae} now; I've told them."
REASSIGNED_AWAY = "*{lead}* went to {ae} ({by} moved it). Nothing more to do for it."
NO_AE_AVAILABLE = (
    "No other AE can take this lead now: everyone else is away. It stays with {ae}."
)
HANDOFF_POST_FAILED = (
    "The answer is saved, but I couldn't post to {channel} ({error}). Invite me "
    "to that channel or ask an admin to check `channels` in the config. "
    "Reference: {ref}."
)
MEETING_SDR = "{ae} booked a meeting with *{lead}* for {day}."
REJECT_INTRO = (
    "*{lead}* goes back to its SDR and to nurture with your reason. The "
    "reasons are counted to tune the qualification matrix."
)
REJECT_NOTE_LABEL = "Note for the SDR"
REJECT_NOTE_HINT = "Needed for: {reasons}."
REJECT_NOTE_NEEDED = "Say in a few words why: this reason needs a note."
MEETING_INTRO = "When is the meeting with *{lead}*? The SDR hears of it."
MEETING_NOTE_LABEL = "Note (optional)"
CONTACTED_LINE = ":white_check_mark: Contacted by {user} · {at}"
CONTACTED_REPLY = "Noted: you reached out to *{lead}*."
CONTACTED_GONE = "I can't find this lead any more; nothing was recorded."
# /qualify away and back.
AWAY_SET = (
    "{who} away through {day}: new leads go to others until {back_day}. "
    "`{back}` ends it early."
)
AWAY_USAGE = (
    "Say until when: `{command} away until 2026-12-10` (or `until friday`). "
    "Managers can add a person: `{command} away @alex until 2026-12-10`."
)
AWAY_UNREADABLE = (
    "I couldn't read “{text}” as a date. Try `{command} away until 2026-12-10`."
)
AWAY_PAST = "{day} has already passed; give the last day of the absence."
AWAY_NOT_ALLOWED = "Only managers can mark someone else away or back."
AWAY_NOT_ON_TEAM = (
    "{who} is not in `team.sdrs` or `team.aes`, so no lead is routed to them anyway."
)
AWAY_NOT_A_USER = (
    "I couldn't tell who “{text}” is. Mention them (`@alex`, picked from the "
    "list Slack offers) or give their member ID (U0123ABCD)."
)
BACK = "{who} back: new leads can go to {them} again."
NOT_AWAY = "{who} not marked away; nothing changed."
# The manager's digest (bot/slack/digest_blocks.py).
DIGEST_TITLE = "Qualification digest · {day}"
DIGEST_TEXT = "Qualification digest for {day}: {qualified} qualified, {sql} SQL."
DIGEST_EMPTY_TEXT = "Qualification digest for {day}: a quiet day."
DIGEST_EMPTY = (
    "*Nothing happened on {day}*: no MQLs, qualifications, handoff answers or "
    "SLA clocks."
)
DIGEST_EMPTY_WAITING = "What is still waiting is below."
DIGEST_TREND = "7-day trend beside each figure: the daily average, or the rate."
DIGEST_FUNNEL = (
    "*Qualified* {qualified} ({sql} SQL · {nurture} nurture) · 7d {qualified_avg}/day\n"
    "*MQL → SQL* {mql_to_sql} · 7d {mql_to_sql_trend}\n"
    "*SQL → accepted* {sql_to_accepted} · 7d {sql_to_accepted_trend}\n"
    "*Accepted → meeting* {accepted_to_meeting} · 7d {accepted_to_meeting_trend}"
)
DIGEST_SLA_HEAD = "*SLAs* (met on time · late · open past due)"
DIGEST_SLA_LINE = "{clock}: {met} · {late} · {open} — {rate} on time · 7d {trend}"
DIGEST_SLA_NONE = "*SLAs*: no clock was met, late or overdue."
DIGEST_BREACHES_HEAD = "*Breaches*"
DIGEST_BREACH = "{owner}: {clock} ×{count}, up to {late} late"
DIGEST_NOBODY = "unassigned"
DIGEST_SDRS_HEAD = "*SDRs* (qualified · SQL rate · median time to first touch)"
DIGEST_SDR = "{user}: {qualified} · {sql_rate} · {first_touch}"
DIGEST_AES_HEAD = "*AEs* (handoffs · accepted · rejected · median time to accept)"
DIGEST_AE = "{user}: {handoffs} · {accepted} · {rejected} · {to_accept}"
DIGEST_REASONS_HEAD = "*Why AEs rejected* (the matrix or the ICP may need a change)"
DIGEST_REASON = "{label} ×{count} (7d ×{trend})"
DIGEST_UNACCEPTED_HEAD = "*SQLs not accepted* ({total}, oldest first)"
DIGEST_UNCLAIMED_HEAD = "*MQLs not claimed* ({total}, oldest first)"
DIGEST_WAITING = "{lead} · since {since}{who}{where}"
DIGEST_UNTOUCHED_HEAD = "*Most engaged, nobody has touched them*"
DIGEST_UNTOUCHED = "{lead} · engagement {level}/3 · {signals}"
DIGEST_MORE = "…and {count} more"
DIGEST_NO_VALUE = "—"
# Added to a digest sent after its time (the worker was down then).
DIGEST_LATE = "(late: due {due})"
DIGEST_CHART_TITLE = "Funnel and SLA compliance, 14 days to {day}"
