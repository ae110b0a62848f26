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
