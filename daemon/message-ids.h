/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MESSAGE_ID= values of the journal entries for the main events; stable, documented in
 * memhotplugd(8), one catalog entry each. */
#define MHP_MESSAGE_BLOCK_ONLINED        "eae2441fccbc4381a59320e227f51cb8"
#define MHP_MESSAGE_BLOCK_ONLINE_FAILED  "d54210fec43b4f429285b56d9006e892"
#define MHP_MESSAGE_BLOCK_LEFT_OFFLINE   "e9cbccc1e5c74f0fab8a75d21e12e7a2"
#define MHP_MESSAGE_DEVICE_CONVERTED     "cba2905511234fe6ad24703578eacd74"
#define MHP_MESSAGE_POLICY_LOADED        "625cee214b434233b67cd6fe042a901f"
#define MHP_MESSAGE_CONFIG_ERROR         "591e485915ab41668921125be0c2fb48"
#define MHP_MESSAGE_KERNEL_AUTO_ONLINE   "9b97550f733b4758872a80bc6ab6e7e3"
#define MHP_MESSAGE_JOB_FINISHED         "287c9fc23b974089a742936113956d30"
#define MHP_MESSAGE_BLOCK_OFFLINED       "3fff44197ab345a3b25248ada55848f5"
#define MHP_MESSAGE_BLOCK_OFFLINE_FAILED "80bbbd8733e74dc5aba420d46360efaf"
#define MHP_MESSAGE_CAPACITY_CHANGED     "d3efcbdbf91f4551897e4d3ebc4f68a7"
