"""Every action_id, callback_id and block_id the bot uses, named once."""

# Answer card buttons (value: "<question id>:<entry id>").
SOLVED = "answer_solved"
SOLVED_THIS = "answer_solved_this"  # a related answer's own "This solved it"
NOT_HELPFUL = "answer_not_helpful"
ASK_EXPERT = "answer_ask_expert"
SHOW_MORE = "answer_show_more"
SOURCE_LINK = "answer_source_link"

# App Home.
HOME_ASK = "home_ask"

# Modals and shortcuts.
ASK_MODAL = "ask_modal"
ASK_MODAL_BLOCK = "ask_question"
ASK_MODAL_INPUT = "ask_question_text"
ASK_SHORTCUT = "ask_switchboard"

# Block ids on the answer card.
FEEDBACK_BLOCK = "answer_feedback"

# Expert routing: the request DM's buttons (value: route id), modals, the answer post's buttons
# (value: question id), the fallback channel's button (value: question id).
EXPERT_ANSWER = "expert_answer"
EXPERT_PASS = "expert_pass"
EXPERT_SNOOZE = "expert_snooze"
EXPERT_ANSWER_MODAL = "expert_answer_modal"
EXPERT_ANSWER_BLOCK = "expert_answer_text"
EXPERT_ANSWER_INPUT = "expert_answer_input"
EXPERT_PASS_MODAL = "expert_pass_modal"
EXPERT_PASS_BLOCK = "expert_pass_colleague"
EXPERT_PASS_INPUT = "expert_pass_user"
ANSWER_SOLVED = "expert_answer_solved"
ANSWER_MORE = "expert_answer_more"
FALLBACK_ANSWER = "fallback_answer"
SAVE_AS_ANSWER = "save_as_answer"

# Admin curation (App Home and modals). Values: an entry id, or "keep:fold" for a merge.
ADMIN_APPROVE = "admin_approve"
ADMIN_EDIT = "admin_edit"
ADMIN_REJECT = "admin_reject"
ADMIN_VERIFY = "admin_verify"
ADMIN_RETIRE = "admin_retire"
ADMIN_RESTORE = "admin_restore"
ADMIN_MERGE = "admin_merge"
ADMIN_NUDGE = "admin_nudge"
ADMIN_FIND = "admin_find"
ADMIN_PHRASINGS = "admin_phrasings"  # value: an entry id
ADMIN_REMOVE_PHRASING = "admin_remove_phrasing"  # value: a phrasing id
ADMIN_ENTRY_MODAL = "admin_entry_modal"
ADMIN_REJECT_MODAL = "admin_reject_modal"
ADMIN_FIND_MODAL = "admin_find_modal"
ADMIN_PHRASINGS_MODAL = "admin_phrasings_modal"
ENTRY_QUESTION, ENTRY_ANSWER, ENTRY_TAGS, ENTRY_VISIBILITY = (
    "entry_question", "entry_answer", "entry_tags", "entry_visibility")
REJECT_REASON = "reject_reason"
FIND_TEXT = "find_text"
OWNER_VERIFY = "owner_verify"

# An expert's own settings on the App Home.
EXPERT_TOPICS = "expert_topics"
EXPERT_TOPICS_MODAL = "expert_topics_modal"
EXPERT_TOPICS_INPUT = "expert_topics_input"
EXPERT_AWAY = "expert_away"
EXPERT_AWAY_MODAL = "expert_away_modal"
EXPERT_AWAY_DATE = "expert_away_date"
EXPERT_BACK = "expert_back"
