"""Every action_id, callback_id and block_id the bot uses, named once."""

# Answer card buttons (value: "<question id>:<entry id>").
SOLVED = "answer_solved"
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
