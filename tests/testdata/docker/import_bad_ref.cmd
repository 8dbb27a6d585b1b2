docker import busybox.tar 'Bad:Ref'
