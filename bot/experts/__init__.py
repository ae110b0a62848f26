"""Expert routing in Slack: ask the right people, escalate when nobody answers, bring the answer
back to the asker and into the knowledge base.

The decisions live in knowledge/ (ranking, availability, the escalation ladder's state); this
package adds what only Slack knows (time zones, Do Not Disturb, deactivated accounts) and does
the talking. Every step is claimed in the database first, so retries, double clicks, two workers
or a restart in the middle never ask anyone twice or post an answer twice.

- `messages.py`  what the experts and the asker are sent, and where (ExpertMessages)
- `asking.py`    who is asked: ranking, availability, the request DMs (ExpertAsker)
- `escalation.py` the ladder: start, SLA timeouts, passing on, the fallback channel (Escalation)
- `answers.py`   an expert's answer into the asker's thread and the knowledge base (Answers)
- `router.py`    the one object the app and the listeners hold (ExpertRouter)
"""

from bot.experts.router import ExpertRouter

__all__ = ["ExpertRouter"]
