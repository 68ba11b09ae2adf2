# Drives the agentls binary given as argv (possibly under valgrind) over stdio:
# initialize, initialized, a pause, then (SCENARIO=work) for each file in
# FILES a didOpen, a didChange, a codeAction and an agent/context request, and
# shutdown, exit. Used by generate.sh.
import subprocess, json, time, sys, os
def send(p, msg):
    body = json.dumps(msg).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body); p.stdin.flush()
def read(p):
    length = 0
    while True:
        line = p.stdout.readline()
        if not line: raise SystemExit("eof")
        line=line.strip()
        if not line: break
        if line.startswith(b"Content-Length:"): length = int(line.split(b":")[1])
    return json.loads(p.stdout.read(length))
def wait(p, id):
    while True:
        m = read(p)
        if m.get("id") == id and "method" not in m: return m
scenario = os.environ.get("SCENARIO", "idle")
p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(os.environ, AGENTLS_LOG="warn"))
send(p, {"jsonrpc":"2.0","id":1,"method":"initialize","params":{"processId":None,"rootUri":None,"capabilities":{}}}); wait(p,1)
send(p, {"jsonrpc":"2.0","method":"initialized","params":{}})
time.sleep(float(os.environ.get("SETTLE","3")))
n = 10
if scenario == "work":
    files = os.environ["FILES"].split(":")
    for i, f in enumerate(files):
        lang = {"rs":"rust","py":"python","ts":"typescript","js":"javascript","go":"go","sh":"shellscript"}[f.rsplit(".",1)[1]]
        uri = "file://" + f
        text = open(f).read()
        send(p, {"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":uri,"languageId":lang,"version":1,"text":text}}})
        send(p, {"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":uri,"version":2},"contentChanges":[{"range":{"start":{"line":3,"character":0},"end":{"line":3,"character":0}},"text":"x"}]}})
        n += 1
        send(p, {"jsonrpc":"2.0","id":n,"method":"textDocument/codeAction","params":{"textDocument":{"uri":uri},"range":{"start":{"line":5,"character":0},"end":{"line":5,"character":0}},"context":{"diagnostics":[]}}}); wait(p,n)
        n += 1
        send(p, {"jsonrpc":"2.0","id":n,"method":"agent/context","params":{"textDocument":{"uri":uri},"position":{"line":5,"character":0}}}); wait(p,n)
        time.sleep(float(os.environ.get("SETTLE","3")))
send(p, {"jsonrpc":"2.0","id":2,"method":"shutdown"}); wait(p,2)
send(p, {"jsonrpc":"2.0","method":"exit"}); p.wait()
print("done", p.returncode)
