using Google.Protobuf;
using Pipeline.Loki.Protocol.Generated;

namespace Pipeline.Loki.Tests.Protocol;

public class GeneratedProtoTests
{
    [Fact]
    public void PushRequest_RoundTripsThroughGeneratedParser()
    {
        var request = new PushRequest();
        var stream = new StreamAdapter { Labels = "{app=\"api\"}" };
        stream.Entries.Add(new EntryAdapter { Timestamp = new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = 1, Nanos = 2 }, Line = "hello" });
        request.Streams.Add(stream);

        var parsed = PushRequest.Parser.ParseFrom(request.ToByteArray());

        Assert.Equal(request, parsed);
    }
}
