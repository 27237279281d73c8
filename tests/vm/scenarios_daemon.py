# SPDX-License-Identifier: LGPL-2.1-or-later
"""Scenarios that run memhotplugd in the guest (placeholder)."""
SCENARIOS = {}
