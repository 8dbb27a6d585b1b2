docker rmi 'Bad:Ref'
