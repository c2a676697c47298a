"""pjsua2 caller on loopback: `python pj.py` places one call (capture its INVITE with listener.py);
`python pj.py hold` (against answerer.py) also puts the call on hold, resumes it and hangs up.
PyPI `pjsua2-python` in a venv. pjsua2 may abort with an assertion at exit; the captures are done by then."""
import sys, time
import pjsua2 as pj

hold = len(sys.argv) > 1 and sys.argv[1] == "hold"
ep = pj.Endpoint(); ep.libCreate()
cfg = pj.EpConfig(); cfg.logConfig.level = 1; cfg.uaConfig.threadCnt = 0; cfg.uaConfig.mainThreadOnly = True
ep.libInit(cfg)
tc = pj.TransportConfig(); tc.port = 5072; tc.boundAddress = "127.0.0.1"; tc.publicAddress = "127.0.0.1"
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
ep.audDevManager().setNullDev()
ep.libStart()
if hold:  # keep the offer short: G.711 only
    for codec in ("speex/16000", "speex/8000", "speex/32000", "iLBC/8000", "GSM/8000", "G722/16000"):
        ep.codecSetPriority(codec, 0)
acfg = pj.AccountConfig(); acfg.idUri = "sip:pj@127.0.0.1"
acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
acc = pj.Account(); acc.create(acfg)
call = pj.Call(acc)
call.makeCall("sip:100@127.0.0.1:5060", pj.CallOpParam(True))

def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        ep.libHandleEvents(20)

spin(2)
if hold:
    call.setHold(pj.CallOpParam(True)); spin(2)
    p = pj.CallOpParam(True); p.opt.flag = pj.PJSUA_CALL_UNHOLD; call.reinvite(p); spin(2)
    call.hangup(pj.CallOpParam(True)); spin(1)
ep.libDestroy()
