// SIPStack: placeholder until the issue that owns it lands.
