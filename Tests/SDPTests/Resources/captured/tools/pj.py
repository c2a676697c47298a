import pjsua2 as pj, time, sys
ep = pj.Endpoint(); ep.libCreate()
cfg = pj.EpConfig(); cfg.logConfig.level = 1; cfg.uaConfig.threadCnt = 0; cfg.uaConfig.mainThreadOnly = True
ep.libInit(cfg)
tc = pj.TransportConfig(); tc.port = 5072; tc.boundAddress = "127.0.0.1"; tc.publicAddress = "127.0.0.1"
ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
ep.audDevManager().setNullDev()
ep.libStart()
acfg = pj.AccountConfig(); acfg.idUri = "sip:pj@127.0.0.1"
acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
acc = pj.Account(); acc.create(acfg)
call = pj.Call(acc); prm = pj.CallOpParam(True)
call.makeCall("sip:100@127.0.0.1:5060", prm)
end = time.time() + 3
while time.time() < end: ep.libHandleEvents(50)
ep.libDestroy()
