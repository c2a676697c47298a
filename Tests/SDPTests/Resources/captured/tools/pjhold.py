import pjsua2 as pj, time
ep = pj.Endpoint(); ep.libCreate()
cfg = pj.EpConfig(); cfg.logConfig.level = 1; cfg.uaConfig.threadCnt = 0; cfg.uaConfig.mainThreadOnly = True
ep.libInit(cfg)
tc = pj.TransportConfig(); tc.port = 5072; tc.boundAddress = "127.0.0.1"; tc.publicAddress = "127.0.0.1"
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
ep.audDevManager().setNullDev()
ep.libStart()
ep.codecSetPriority("speex/16000", 0); ep.codecSetPriority("speex/8000", 0); ep.codecSetPriority("speex/32000", 0)
ep.codecSetPriority("iLBC/8000", 0); ep.codecSetPriority("GSM/8000", 0); ep.codecSetPriority("G722/16000", 0)
acfg = pj.AccountConfig(); acfg.idUri = "sip:pj@127.0.0.1"
acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
acc = pj.Account(); acc.create(acfg)
call = pj.Call(acc)
call.makeCall("sip:100@127.0.0.1:5060", pj.CallOpParam(True))
def spin(t):
    end = time.time() + t
    while time.time() < end: ep.libHandleEvents(20)
spin(2)
call.setHold(pj.CallOpParam(True)); spin(2)
p = pj.CallOpParam(True); p.opt.flag = pj.PJSUA_CALL_UNHOLD; call.reinvite(p); spin(2)
call.hangup(pj.CallOpParam(True)); spin(1)
