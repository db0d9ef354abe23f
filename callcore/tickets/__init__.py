"""The ticket (工单) workflow: intake, dispatch, deadlines, urges, replies, statistics (W-*, S-1)."""
