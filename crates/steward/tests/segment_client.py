"""Drives Segment's own Python library (segment-analytics-python) against a running Steward.

Usage: python segment_client.py HOST WRITE_KEY
Sends identify, group, track and page calls, flushes, and exits non-zero if the library
reported any error. The Rust test that runs this script then checks the results through
Steward's REST API.
"""
import sys

import segment.analytics as analytics

host, write_key = sys.argv[1], sys.argv[2]
errors = []

analytics.write_key = write_key
analytics.host = host
analytics.on_error = lambda error, items: errors.append(str(error))
analytics.gzip = "--gzip" in sys.argv

analytics.identify("py-user-1", {"name": "Grace Hopper", "email": "grace@navy.example", "createdAt": "2024-03-01T00:00:00Z", "rank": "rear admiral"})
analytics.group("py-user-1", "py-acct-1", {"name": "Navy Labs", "plan": "enterprise", "mrr": 990})
analytics.track("py-user-1", "Compiler Run", {"language": "COBOL"}, context={"groupId": "py-acct-1"})
analytics.track("py-user-1", "Compiler Run", {"language": "FLOW-MATIC"}, context={"groupId": "py-acct-1"})
analytics.page("py-user-1", "Docs", "Getting Started", {"url": "https://example.com/docs"})
analytics.identify("py-user-2", {"name": "Second", "company": {"id": "py-acct-1", "remove": True}})
analytics.flush()
analytics.shutdown()

if errors:
    print("segment library errors:", errors, file=sys.stderr)
    sys.exit(1)
print("sent")
