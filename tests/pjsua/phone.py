#!/usr/bin/env python3
"""A pjsua2 (PyPI pjsua2-python) phone for the integration tests: it places a call or answers one,
records what it hears to an 8 kHz mono WAV until the other side hangs up, and exits 0.

    phone.py call   --caller 0975000888 --uri sip:+886229996666@127.0.0.1:5060 --wav out.wav
    phone.py answer --user +886975000888 --port 5090 --wav out.wav --key 1
    phone.py call ... --uri "sip:+886229996666@127.0.0.1:5061;transport=tls" --tls-ca ca.pem --srtp

With --tls-ca the signalling is SIP over TLS (RFC 3261 §26), the server's certificate verified
against that CA; with --srtp the call's media must be SRTP keyed by SDES (RFC 4568), refused otherwise.

No sound card (null device); conference clock 8 kHz so nothing is resampled; PCMU preferred.
With --recognize PROMPTS_DIR/LOCALE it then finds our digit prompts in the recording (normalized
cross-correlation, numpy) and prints `heard: <digits>` in the order they were spoken."""
import argparse
import os
import sys
import time

import pjsua2 as pj


KEEP = []


class Call(pj.Call):
    def __init__(self, account, wav, call_id=pj.PJSUA_INVALID_ID, key=None):
        super().__init__(account, call_id)
        self.wav = wav
        self.key = key
        self.recorder = None
        self.done = False
        self.secure = False

    def onCallState(self, prm):
        state = self.getInfo().state
        if state == pj.PJSIP_INV_STATE_CONFIRMED and self.key:
            # voice_call says the code only after a key (RFC 4733 events, pjsua's default).
            self.dialDtmf(self.key)
            self.key = None
        if state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.done = True

    def onCallMediaState(self, prm):
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE and self.recorder is None:
                # RTP/SAVP (bit 0x4000 of pjmedia_tp_proto: the secure profiles) once SDES keyed it.
                self.secure = bool(self.getStreamInfo(index).proto & 0x4000)
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(self.wav)
                self.getAudioMedia(index).startTransmit(self.recorder)


class Account(pj.Account):
    def __init__(self, wav, key=None):
        super().__init__()
        self.wav = wav
        self.key = key
        self.calls = []

    def onIncomingCall(self, prm):
        call = Call(self, self.wav, prm.callId, key=self.key)
        self.calls.append(call)
        answer = pj.CallOpParam()
        answer.statusCode = 200
        call.answer(answer)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["call", "answer"])
    p.add_argument("--caller", default="0975000888")
    p.add_argument("--user", default="+886975000888")
    p.add_argument("--uri")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--wav", required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--key", help="answer: key this digit once the call is up (voice_call waits for a key before the code)")
    p.add_argument("--tls-ca", help="SIP over TLS: the CA file that signs the server's certificate")
    p.add_argument("--srtp", action="store_true", help="SRTP mandatory (SDES, RFC 4568); needs --tls-ca")
    p.add_argument("--recognize", help="folder of the digit prompts 0.wav … 9.wav to find in the recording")
    args = p.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.logConfig.level = 1
    config.logConfig.consoleLevel = 1
    config.medConfig.clockRate = 8000
    config.medConfig.sndClockRate = 8000
    config.medConfig.channelCount = 1
    config.medConfig.noVad = True
    config.medConfig.ecTailLen = 0
    ep.libInit(config)
    ep.audDevManager().setNullDev()
    for codec in ep.codecEnum2():
        ep.codecSetPriority(codec.codecId, 255 if codec.codecId.startswith("PCMU") else 0)
    transport = pj.TransportConfig()
    transport.boundAddress = "127.0.0.1"
    transport.publicAddress = "127.0.0.1"
    transport.port = args.port
    if args.tls_ca:
        transport.tlsConfig.CaListFile = args.tls_ca
        transport.tlsConfig.verifyServer = True
        transport.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
        ep.transportCreate(pj.PJSIP_TRANSPORT_TLS, transport)
    else:
        ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
    ep.libStart()

    account_config = pj.AccountConfig()
    user = args.caller if args.mode == "call" else args.user
    account_config.idUri = f"sip:{user}@127.0.0.1"
    account_config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    if args.srtp:
        account_config.mediaConfig.srtpUse = pj.PJMEDIA_SRTP_MANDATORY
        account_config.mediaConfig.srtpSecureSignaling = 1  # SDES keys only over TLS
        keying = pj.IntVector()
        keying.append(pj.PJMEDIA_SRTP_KEYING_SDES)
        account_config.mediaConfig.srtpOpt.keyings = keying
    account = Account(args.wav, key=args.key)
    account.create(account_config, True)

    if args.mode == "call":
        call = Call(account, args.wav)
        account.calls.append(call)
        call.makeCall(args.uri, pj.CallOpParam(True))
    else:
        print(f"ready {args.port}", flush=True)

    deadline = time.monotonic() + args.timeout
    status = 1
    while time.monotonic() < deadline:
        ep.libHandleEvents(10)
        if account.calls and all(c.done for c in account.calls):
            status = 0 if any(c.recorder is not None for c in account.calls) else 2
            if args.srtp and not any(c.secure for c in account.calls):
                print("media was not SRTP", flush=True)
                status = 3
            break
    for call in account.calls:
        call.recorder = None  # closes the WAV (its header gets the sizes)
    ep.libDestroy()
    if status == 0 and args.recognize:
        print("heard: " + recognize(args.wav, args.recognize), flush=True)
    # pjsua asserts when its Python objects are deleted after libDestroy: keep them to the exit.
    KEEP.extend([ep, account, account.calls])
    return status


def read_wav(path):
    import wave

    import numpy as np
    with wave.open(path) as w:
        assert w.getframerate() == 8000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)


def recognize(recording, prompts, threshold=0.7):
    """The digits whose prompt appears in the recording: peaks of the normalized cross-correlation
    (scale-free, so the phone's gain does not matter) above `threshold`, in time order."""
    import numpy as np
    audio = read_wav(recording)
    found = []
    for digit in range(10):
        prompt = read_wav(os.path.join(prompts, f"{digit}.wav"))
        if len(audio) < len(prompt):
            continue
        correlation = np.correlate(audio, prompt, mode="valid")
        energy = np.sqrt(np.convolve(audio ** 2, np.ones(len(prompt)), mode="valid")) * np.sqrt((prompt ** 2).sum()) + 1e-9
        score = correlation / energy
        taken = []
        for index in np.argsort(score)[::-1]:
            if score[index] < threshold:
                break
            if all(abs(int(index) - t) > len(prompt) // 2 for t in taken):
                taken.append(int(index))
        found += [(t, digit) for t in taken]
    return "".join(str(d) for _, d in sorted(found))


if __name__ == "__main__":
    # Exit without letting Python delete the pjsua2 objects after libDestroy (pjsua asserts then).
    os._exit(main())
