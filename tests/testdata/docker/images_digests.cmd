docker images --digests
