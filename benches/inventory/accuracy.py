#!/usr/bin/env python3
"""Inventory accuracy against the benchmark workload's ground truth.

Usage: accuracy.py HOSTS_CSV INVENTORY_JSON SENDERS_TXT [--table]

HOSTS_CSV      <pcap>.hosts.csv written by ../shared/bench/hospital_pcap.py
INVENTORY_JSON `wardwatch inventory --state-dir DIR --format json`
SENDERS_TXT    source MACs of the capture, one per line (the hosts "that sent a frame"),
               e.g. `tshark -r PCAP -T fields -e eth.src | sort -u`

Vendor accuracy: hosts whose MAC block is registered (inventory vendor present or not),
counted right when the inventory names the IEEE organisation of the ground-truth vendor.
Class accuracy: the ground-truth role mapped to wardwatch's classes (ROLE_CLASS below).
Prints the figures and the confusion table (truth rows, inventory columns).
"""
import csv
import json
import sys
from collections import Counter, defaultdict

ROLE_CLASS = {
    "pump": "infusion_pump", "monitor": "patient_monitor", "monitorgw": "monitoring_gateway",
    "modality": "imaging_modality", "pacs": "pacs", "vna": "pacs",
    "ris": "clinical_server", "ehr": "clinical_server", "lis": "clinical_server",
    "hl7engine": "clinical_server", "pumpserver": "clinical_server", "webapp": "clinical_server",
    "medother": "medical_other", "workstation": "clinical_workstation", "printer": "printer",
    "phone": "ip_phone", "dns": "it_server", "dhcp": "it_server", "ntp": "it_server",
    "backup": "it_server",
    # Internet servers appear behind the core router's MAC: that MAC is the router.
    "internet": "network_device",
}

# Ground-truth vendor names (the generator's) -> a word the IEEE organisation contains.
VENDOR_WORD = {
    "Philips": "philips", "GE Healthcare": "ge ", "Siemens Healthcare": "siemens",
    "Baxter": "baxter", "B. Braun": "braun", "BD/CareFusion/Alaris": ("carefusion", "becton", "alaris"),
    "Mindray": "mindray", "Draeger": "draeger", "Nihon Kohden": "nihon kohden",
    "Spacelabs": "spacelabs", "ICU Medical": "icu medical", "Welch Allyn": "welch allyn",
    "Hill-Rom": "hill-rom", "Fresenius": "fresenius", "Masimo": "masimo",
    "Smiths Medical": "smiths medical", "Carestream": "carestream", "Fujifilm": "fujifilm",
    "Agfa": "agfa", "Dell": "dell", "HP": "hewlett packard", "Lenovo": "lenovo",
    "VMware": "vmware", "Cisco": "cisco", "Zebra": "zebra",
}


def main():
    hosts_csv, inv_json, senders_txt = sys.argv[1:4]
    table = "--table" in sys.argv
    truth = {r["mac"].lower(): r for r in csv.DictReader(open(hosts_csv))}
    inv = {d["id"]: d for d in json.load(open(inv_json))}
    senders = {l.strip().lower() for l in open(senders_txt) if l.strip()}
    hosts = [m for m in truth if m in senders]
    vend_ok = cls_ok = 0
    conf = defaultdict(Counter)
    missing = 0
    for m in hosts:
        t = truth[m]
        d = inv.get(m)
        if d is None:
            missing += 1
        got_vendor = (d or {}).get("vendor") or ""
        words = VENDOR_WORD.get(t["vendor"], t["vendor"].lower())
        if isinstance(words, str):
            words = (words,)
        if any(w in (got_vendor.lower() + " ") for w in words):
            vend_ok += 1
        want = ROLE_CLASS.get(t["role"], "unknown")
        got = (d or {}).get("classification", {}).get("class", "missing")
        conf[want][got] += 1
        if got == want:
            cls_ok += 1
    n = len(hosts)
    print(f"hosts in ground truth: {len(truth)}; sent a frame: {n}; without a record: {missing}")
    print(f"vendor accuracy: {vend_ok}/{n} = {100.0 * vend_ok / max(n, 1):.2f}%")
    print(f"class accuracy:  {cls_ok}/{n} = {100.0 * cls_ok / max(n, 1):.2f}%")
    if table:
        cols = sorted({c for r in conf.values() for c in r})
        print("truth \\ inventory | " + " | ".join(cols))
        for want in sorted(conf):
            print(f"{want} | " + " | ".join(str(conf[want].get(c, 0)) for c in cols))


if __name__ == "__main__":
    main()
